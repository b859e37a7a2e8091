/**
 * @since 0.1.0
 */
export * as Conformance from "./Conformance.js"
/**
 * @since 0.1.0
 */
export * as ConformanceFixture from "./ConformanceFixture.js"
/**
 * @since 0.2.0
 */
export * as DockerContext from "./DockerContext.js"
/**
 * @since 0.1.0
 */
export * as Engine from "./Engine.js"
/**
 * @since 0.1.0
 */
export * as Leftovers from "./Leftovers.js"
/**
 * @since 0.2.0
 */
export * as OtlpReceiver from "./OtlpReceiver.js"
/**
 * @since 0.2.0
 */
export * as Podman from "./Podman.js"
/**
 * @since 0.2.0
 */
export * as Poll from "./Poll.js"
/**
 * @since 0.2.0
 */
export * as Registry from "./Registry.js"
/**
 * @since 0.2.0
 */
export * as RegistryProxy from "./RegistryProxy.js"
/**
 * @since 0.2.0
 */
export * as Sshd from "./Sshd.js"
/**
 * @since 0.3.0
 */
export * as Swarm from "./Swarm.js"
/**
 * @since 0.1.0
 */
export * as TestImage from "./TestImage.js"
/**
 * @since 0.2.0
 */
export * as TlsEndpoint from "./TlsEndpoint.js"
