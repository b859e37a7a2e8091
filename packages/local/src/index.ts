/**
 * @since 0.1.0
 */
export * as LocalEngine from "./LocalEngine.js"
/**
 * @since 0.1.0
 */
export * as ProcessGroup from "./ProcessGroup.js"
