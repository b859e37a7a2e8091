/**
 * @since 0.2.0
 */
export * as Credentials from "./Credentials.js"
/**
 * @since 0.2.0
 */
export * as CredentialsError from "./CredentialsError.js"
/**
 * @since 0.1.0
 */
export * as DockerEngineLive from "./DockerEngineLive.js"
/**
 * @since 0.2.0
 */
export * as EngineDiscovery from "./EngineDiscovery.js"
/**
 * @since 0.2.0
 */
export * as EngineDiscoveryError from "./EngineDiscoveryError.js"
/**
 * @since 0.3.0
 */
export * as SdkFailure from "./SdkFailure.js"
