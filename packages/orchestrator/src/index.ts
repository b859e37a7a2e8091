/**
 * @since 0.1.0
 */
export * as Orchestrator from "./Orchestrator.js"
/**
 * @since 0.1.0
 */
export * as OrchestratorError from "./OrchestratorError.js"
/**
 * @since 0.3.0
 */
export * as Pool from "./Pool.js"
/**
 * @since 0.1.0
 */
export * as Progress from "./Progress.js"
/**
 * @since 0.1.0
 */
export * as Spec from "./Spec.js"
