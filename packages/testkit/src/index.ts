/**
 * @since 0.1.0
 */
export * as Engine from "./Engine.js"
