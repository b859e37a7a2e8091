/** @internal */
import { type ImageRef, Names, Parallel } from "@armada/core"
import {
  Archive,
  ContainerEngine,
  ContainerEngineError,
  type ContainerSpec,
  type Mount
} from "@armada/engine"
import { type ContainerExit, ProcessorClient, ProcessorError, Protocol } from "@armada/http"
import { Effect, Option } from "effect"
import type * as Orchestrator from "../Orchestrator.js"
import type { Cause } from "../OrchestratorError.js"
import * as Progress from "../Progress.js"
import type { Spec } from "../Spec.js"
import * as diagnosis from "./diagnosis.js"
import * as stage from "./stage.js"
import * as transfer from "./transfer.js"

/** One container to run. */
interface Plan {
  readonly role: Names.Role
  readonly id: Names.Id
  readonly image: ImageRef.ImageRef
  readonly container: ContainerSpec
}

const mergerId = Names.Id.make("merger")

/**
 * The container specs of a session, per docs/protocol.md: env, labels, mounts (the template
 * read-only and the session area for processors, plugins and the merger; none for resolvers, whose
 * work comes in the request), network, port, limits, security profile.
 */
const plans = (session: Orchestrator.Session): ReadonlyArray<Plan> => {
  const { spec } = session
  const { prefix, limits, security } = spec.options
  const template: Mount = { volume: session.templateVolume, target: Protocol.templateDir, readOnly: true }
  // The merger receives the template when files go through it: armada's image, no user code.
  const mergerTemplate: Mount = { ...template, readOnly: session.files === "engine" }
  const area: Mount = { volume: session.sessionVolume, target: Protocol.areaDir, readOnly: false }
  const plan = (
    role: Names.Role,
    item: {
      readonly id: Names.Id
      readonly image: ImageRef.ImageRef
      readonly env: Spec["processors"][number]["env"]
    }
  ): Plan => ({
    role,
    id: item.id,
    image: item.image,
    container: {
      name: Names.containerName(prefix, role, item.id, spec.session),
      image: item.image,
      // The role is armada's to set: an item's env cannot change what the container is.
      env: { ...item.env, ARMADA_ROLE: role },
      labels: session.labels.of(role),
      mounts: role === "resolver" ? [] : [role === "merger" ? mergerTemplate : template, area],
      network: session.network,
      publish: Protocol.ports[role],
      limits: {
        ...(limits.memory === undefined ? {} : { memoryBytes: limits.memory }),
        ...(limits.cpus === undefined ? {} : { nanoCpus: Math.round(limits.cpus * 1e9) }),
        ...(limits.pids === undefined ? {} : { pids: limits.pids })
      },
      security
    }
  })
  return [
    ...spec.processors.map((p) => plan("processor", p)),
    ...spec.plugins.map((p) => plan("plugin", p)),
    ...spec.resolvers.map((r) => plan("resolver", r)),
    plan("merger", { id: mergerId, image: spec.merger.image, env: spec.merger.env })
  ]
}

interface Launched {
  readonly plan: Plan
  readonly containerId: string
  readonly endpoint: ProcessorError.Endpoint
}

/** @internal */
export const start = (session: Orchestrator.Session) =>
  Effect.gen(function* () {
    const engine = yield* ContainerEngine
    const client = yield* ProcessorClient
    const { spec } = session
    const all = plans(session)
    const described = (plan: Plan) => ({ role: plan.role, id: plan.id, name: plan.container.name })
    const reportFailure = (plan: Plan) => (cause: Cause) =>
      Progress.emit(Progress.ContainerFailed.make({ ...described(plan), cause }))

    // Create and start, under the limit.
    const launch = (plan: Plan) =>
      Effect.gen(function* () {
        // The session's finalizer finds the container by its labels. Not interruptible: an aborted
        // create request may still create the container after that finalizer looked for it.
        const containerId = yield* Effect.uninterruptible(engine.createContainer(plan.container))
        yield* Progress.emit(Progress.ContainerCreated.make(described(plan)))
        // Not interruptible either: a start aborted while the engine attaches the container to the
        // network, then a forced removal, can leave the network with an endpoint count Docker never
        // frees ("has active endpoints" with no container), so it can never be removed.
        yield* Effect.uninterruptible(engine.startContainer(containerId))
        yield* Progress.emit(Progress.ContainerStarted.make(described(plan)))
        const info = yield* engine.inspectContainer(containerId)
        const url = Option.map(
          Option.fromNullable(info.ports.find((p) => p.containerPort === Protocol.ports[plan.role])),
          (binding) => `http://127.0.0.1:${binding.hostPort}`
        )
        // Exited already (a stopped container has no port): that is the answer, no need to wait.
        const gone =
          info.state === "exited" || info.state === "dead"
            ? yield* diagnosis.exitOf(containerId)
            : Option.none()
        if (Option.isSome(gone)) {
          return yield* new ProcessorError.Exited({
            endpoint: { name: plan.container.name, url: Option.getOrElse(url, () => "") },
            ...gone.value
          })
        }
        if (Option.isNone(url)) {
          return yield* new ContainerEngineError.EngineError({
            operation: "inspect",
            resource: plan.container.name,
            detail: `port ${Protocol.ports[plan.role]} is not published`
          })
        }
        const launched: Launched = {
          plan,
          containerId,
          endpoint: { name: plan.container.name, url: url.value }
        }
        return launched
      }).pipe(
        Effect.tapError(reportFailure(plan)),
        Effect.withSpan("armada.start.container", { attributes: described(plan) })
      )

    /**
     * Completes when the container exits, with its exit code and log tail: one long `wait` call per
     * container, beside the readiness probes. Engine trouble on that call never completes it: the
     * deadline still applies.
     */
    const exitOf = (containerId: string): Effect.Effect<ContainerExit> =>
      engine.waitContainer(containerId).pipe(
        Effect.flatMap((exitCode) =>
          Effect.map(diagnosis.logTail(containerId), (logTail) => ({ exitCode, logTail }))
        ),
        Effect.catchTag("ContainerNotFound", () =>
          Effect.succeed({ exitCode: -1, logTail: "the container no longer exists" })
        ),
        Effect.catchAll(() => Effect.never),
        Effect.provideService(ContainerEngine, engine)
      )

    // Then wait for it, outside the limit: waits only poll, so every container is waited for at once.
    const ready = (launched: Launched) =>
      client
        .waitReady(launched.endpoint, {
          deadline: spec.options.timeouts.ready,
          exited: exitOf(launched.containerId),
          // Containers of one role and image take about as long to start as each other.
          cohort: `${launched.plan.role} ${launched.plan.image}`
        })
        .pipe(
          Effect.tap((r) =>
            Progress.emit(
              Progress.ContainerReady.make({
                ...described(launched.plan),
                url: launched.endpoint.url,
                attempts: r.attempts,
                elapsedMillis: r.elapsedMillis
              })
            )
          ),
          Effect.map(
            (r): Orchestrator.Container => ({
              role: launched.plan.role,
              id: launched.plan.id,
              image: launched.plan.image,
              name: launched.plan.container.name,
              containerId: launched.containerId,
              endpoint: launched.endpoint,
              readyMillis: r.elapsedMillis
            })
          ),
          Effect.tapError(reportFailure(launched.plan)),
          Effect.withSpan("armada.ready", { attributes: described(launched.plan) })
        )

    const { value } = yield* stage.run(
      spec.session,
      "start",
      all.length,
      Effect.gen(function* () {
        // The limit holds for creating and starting (the engine's work), not for the wait after it,
        // so the first containers are being waited for while the last are still being created.
        const slots = yield* Effect.makeSemaphore(
          yield* Effect.orDie(Parallel.resolveConcurrency(spec.options.concurrency))
        )
        const outcome = yield* stage.forEach(
          all,
          (plan) => Effect.flatMap(slots.withPermits(1)(launch(plan)), ready),
          Math.max(1, all.length)
        )
        const failures = outcome.failures.map((f) =>
          stage.failure(
            "start",
            { kind: f.item.role, id: f.item.id, image: f.item.image },
            stage.causeOf(f.cause)
          )
        )
        yield* stage.check(spec.session, "start", failures)
        const containers = outcome.successes.map((s) => s.value)
        const started: Orchestrator.Started = {
          session,
          processors: containers.filter((c) => c.role === "processor"),
          plugins: containers.filter((c) => c.role === "plugin"),
          resolvers: containers.filter((c) => c.role === "resolver"),
          merger: containers.find((c) => c.role === "merger")!
        }
        // Through the merger, the template goes in now that the merger answers (warm.ts otherwise);
        // no processor has been called yet.
        if (session.files === "merger") {
          const failures = yield* transfer
            .put(started, Protocol.templateDir, Archive.packDirectory(spec.template))
            .pipe(
              Effect.withSpan("armada.template.load", {
                attributes: { template: spec.template, files: "merger" }
              }),
              stage.failuresOf("start", { kind: "template", id: session.templateVolume })
            )
          yield* stage.check(spec.session, "start", failures)
        }
        return started
      })
    )
    return value
  }).pipe(Effect.annotateLogs("session", session.spec.session))
