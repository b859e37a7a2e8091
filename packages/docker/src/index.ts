/**
 * @since 0.1.0
 */
export * as DockerEngineLive from "./DockerEngineLive.js"
