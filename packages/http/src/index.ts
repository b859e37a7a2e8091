/**
 * @since 0.1.0
 */
export * from "./ProcessorClient.js"
/**
 * @since 0.1.0
 */
export * as ProcessorError from "./ProcessorError.js"
/**
 * @since 0.1.0
 */
export * as Protocol from "./Protocol.js"
