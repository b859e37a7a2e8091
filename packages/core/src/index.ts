/**
 * @since 0.1.0
 */
export * as ImageRef from "./ImageRef.js"
/**
 * @since 0.1.0
 */
export * from "./InputError.js"
/**
 * @since 0.1.0
 */
export * as Interruption from "./Interruption.js"
/**
 * @since 0.1.0
 */
export * as Names from "./Names.js"
/**
 * @since 0.1.0
 */
export * as Outcome from "./Outcome.js"
/**
 * @since 0.1.0
 */
export * as Parallel from "./Parallel.js"
