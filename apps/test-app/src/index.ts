/**
 * @since 0.1.0
 */

/**
 * @since 0.3.0
 */
export * as Files from "./Files.js"
export * as Glob from "./Glob.js"
/**
 * @since 0.1.0
 */
export * as Merger from "./Merger.js"
/**
 * @since 0.1.0
 */
export * as Plugin from "./Plugin.js"
/**
 * @since 0.1.0
 */
export * as Processor from "./Processor.js"
/**
 * @since 0.2.0
 */
export * as Resolver from "./Resolver.js"
/**
 * @since 0.1.0
 */
export * as Server from "./Server.js"
/**
 * @since 0.1.0
 */
export * as Settings from "./Settings.js"
/**
 * @since 0.1.0
 */
export * as Workspace from "./Workspace.js"
