/**
 * @since 0.1.0
 */
export * as Archive from "./Archive.js"
/**
 * @since 0.1.0
 */
export * as Bulk from "./Bulk.js"
/**
 * @since 0.1.0
 */
export * from "./DockerEngine.js"
/**
 * @since 0.1.0
 */
export * as DockerEngineLive from "./DockerEngineLive.js"
/**
 * @since 0.1.0
 */
export * as DockerError from "./DockerError.js"
/**
 * @since 0.1.0
 */
export * as EngineRules from "./EngineRules.js"
/**
 * @since 0.1.0
 */
export * as MemoryEngine from "./MemoryEngine.js"
/**
 * @since 0.1.0
 */
export * as Validation from "./Validation.js"
