/**
 * @since 0.1.0
 */
export * from "./DockerEngine.js"
/**
 * @since 0.1.0
 */
export * as DockerError from "./DockerError.js"
