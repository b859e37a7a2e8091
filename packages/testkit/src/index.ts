/**
 * @since 0.1.0
 */
export * as Engine from "./Engine.js"
/**
 * @since 0.1.0
 */
export * as TestImage from "./TestImage.js"
