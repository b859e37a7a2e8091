/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Archive from "./Archive.js"
export * from "./DockerEngine.js"
/**
 * @since 0.1.0
 */
export * as DockerError from "./DockerError.js"
/**
 * @since 0.1.0
 */
export * as Validation from "./Validation.js"
