/**
 * @since 0.3.0
 */
export * as SwarmEngine from "./SwarmEngine.js"
