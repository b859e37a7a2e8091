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
export * from "./ContainerEngine.js"
/**
 * @since 0.1.0
 */
export * as ContainerEngineError from "./ContainerEngineError.js"
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
export * as MountOverlay from "./MountOverlay.js"
/**
 * @since 0.2.0
 */
export * as SecurityProfile from "./SecurityProfile.js"
/**
 * @since 0.1.0
 */
export * as Upstream from "./Upstream.js"
/**
 * @since 0.1.0
 */
export * as Validation from "./Validation.js"
