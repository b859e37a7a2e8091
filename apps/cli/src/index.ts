/**
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
/**
 * @since 0.1.0
 */
export * as Display from "./Display.js"
/**
 * @since 0.1.0
 */
export * as Engine from "./Engine.js"
/**
 * @since 0.1.0
 */
export * as Event from "./Event.js"
/**
 * @since 0.1.0
 */
export * as ExitCode from "./ExitCode.js"
/**
 * @since 0.1.0
 */
export * as Failures from "./Failures.js"
/**
 * @since 0.1.0
 */
export * as Output from "./Output.js"
/**
 * @since 0.1.0
 */
export * as Progress from "./Progress.js"
/**
 * @since 0.1.0
 */
export * as Report from "./Report.js"
/**
 * @since 0.1.0
 */
export * as RunState from "./RunState.js"
