/**
 * @since 0.2.0
 */
export * as Tracing from "./Tracing.js"
