/**
 * The conformance tests of containers: their life cycle, confinement, limits, published port,
 * exit codes, names and label filters.
 *
 * @internal
 */
import { ImageRef } from "@armada/core"
import { ContainerEngine, type ContainerEngineError, SecurityProfile } from "@armada/engine"
import { assert } from "@effect/vitest"
import { Effect, Fiber, FiberStatus, Schedule } from "effect"
import { eventually, failureOf, logsContain, type Suite } from "./suite.js"

/** @internal */
export const register = ({
  test,
  nameOf,
  spec,
  container,
  volume,
  labels,
  runLabel,
  runId,
  port
}: Suite): void => {
  test("containers: created → running → removed", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const name = nameOf("lifecycle")
      const id = yield* container(spec("lifecycle", { publish: port, capAdd: ["NET_BIND_SERVICE"] }))
      assert.isNotEmpty(id)
      const created = yield* engine.inspectContainer(name)
      assert.strictEqual(created.state, "created")
      assert.strictEqual(created.exitCode, undefined)
      assert.strictEqual(created.name, name)
      assert.strictEqual(created.id, id)
      assert.deepInclude(created.labels, labels)
      assert.isFalse(created.security.privileged)

      yield* engine.startContainer(name)
      yield* engine.startContainer(id) // starting a running container is a no-op
      const running = yield* engine.inspectContainer(id)
      assert.strictEqual(running.state, "running")
      const binding = running.ports.find((p) => p.containerPort === port)
      assert.isDefined(binding)
      assert.strictEqual(binding?.hostIp, "127.0.0.1")
      assert.isAbove(binding?.hostPort ?? 0, 0)
      yield* logsContain(name, "listening")

      yield* engine.removeContainer(name)
      assert.strictEqual((yield* failureOf(engine.inspectContainer(name)))._tag, "ContainerNotFound")
    })
  )

  test("containers are isolated as inspect reports", ["isolation"], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      yield* container(spec("isolated", { capAdd: ["NET_BIND_SERVICE"] }))
      const { security } = yield* engine.inspectContainer(nameOf("isolated"))
      assert.isFalse(security.privileged)
      assert.notStrictEqual(security.networkMode, "host")
      assert.include(security.capDrop, "ALL")
      assert.include(security.capAdd, "NET_BIND_SERVICE")
      assert.isTrue(security.securityOpt.some((opt) => opt.startsWith("no-new-privileges")))
    })
  )

  test("the security profile: default adds root's file capabilities back, strict none", ["isolation"], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      yield* container(spec("default-profile", { security: "default" }))
      yield* container(spec("strict-profile", { security: "strict" }))
      const byDefault = yield* engine.inspectContainer(nameOf("default-profile"))
      const strict = yield* engine.inspectContainer(nameOf("strict-profile"))
      assert.deepStrictEqual(byDefault.security.capDrop, ["ALL"])
      assert.deepStrictEqual(byDefault.security.capAdd, [...SecurityProfile.defaultCapabilities])
      assert.deepStrictEqual(strict.security.capDrop, ["ALL"])
      assert.deepStrictEqual(strict.security.capAdd, [])
    })
  )

  test("resource limits are applied as given", ["resourceLimits"], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const limits = { memoryBytes: 256 * 1024 * 1024, pids: 64, nanoCpus: 500_000_000 }
      yield* container(spec("limits", { limits }))
      const info = yield* engine.inspectContainer(nameOf("limits"))
      assert.strictEqual(info.security.memoryBytes, limits.memoryBytes)
      assert.strictEqual(info.security.pidsLimit, limits.pids)
      assert.strictEqual(info.security.nanoCpus, limits.nanoCpus)
    })
  )

  test("the published port answers HTTP on 127.0.0.1", ["http"], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      yield* container(spec("http", { publish: port }))
      yield* engine.startContainer(nameOf("http"))
      const info = yield* engine.inspectContainer(nameOf("http"))
      const hostPort = info.ports.find((p) => p.containerPort === port)?.hostPort
      assert.isDefined(hostPort)
      const body = yield* eventually(
        Effect.tryPromise(async (signal) => {
          const response = await fetch(`http://127.0.0.1:${hostPort}/`, { signal })
          if (response.status !== 200) throw new Error(`status ${response.status}`)
          return response.text()
        }).pipe(Effect.timeout("2 seconds"))
      )
      assert.include(body, "armada conformance fixture")
    })
  )

  test("an exiting container: wait gives its code, inspect shows exited, logs keep its output", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const name = nameOf("exit")
      yield* container(spec("exit", { env: { EXIT_CODE: "3" } }))
      yield* engine.startContainer(name)
      assert.strictEqual(yield* engine.waitContainer(name), 3)
      const info = yield* engine.inspectContainer(name)
      assert.strictEqual(info.state, "exited")
      assert.strictEqual(info.exitCode, 3)
      assert.include(yield* engine.logs(name, { tail: 10 }), "exiting with 3")
    })
  )

  test("a listing summarises each container as inspect reports it: created, running, exited", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      yield* container(spec("listed-created"))
      yield* container(spec("listed-running"))
      yield* container(spec("listed-exited", { env: { EXIT_CODE: "3" } }))
      yield* engine.startContainer(nameOf("listed-running"))
      yield* engine.startContainer(nameOf("listed-exited"))
      assert.strictEqual(yield* engine.waitContainer(nameOf("listed-exited")), 3)
      yield* logsContain(nameOf("listed-running"), "listening")
      const listed = yield* engine.listContainers(runLabel)
      assert.deepStrictEqual(listed.map((summary) => summary.name).sort(), [
        nameOf("listed-created"),
        nameOf("listed-exited"),
        nameOf("listed-running")
      ])
      const states: Record<string, [string, number | undefined]> = {}
      for (const summary of listed) {
        const info = yield* engine.inspectContainer(summary.id)
        assert.strictEqual(summary.id, info.id)
        assert.strictEqual(summary.name, info.name)
        assert.strictEqual(summary.image, info.image)
        assert.deepStrictEqual(summary.labels, info.labels)
        assert.strictEqual(summary.state, info.state)
        assert.strictEqual(summary.exitCode, info.exitCode)
        assert.isAtMost(Math.abs(summary.createdAt.getTime() - info.createdAt.getTime()), 1000)
        states[summary.name] = [summary.state, summary.exitCode]
      }
      assert.deepStrictEqual(states, {
        [nameOf("listed-created")]: ["created", undefined],
        [nameOf("listed-running")]: ["running", undefined],
        [nameOf("listed-exited")]: ["exited", 3]
      })
    })
  )

  test("waiting on a running container ends with 137 when it is removed", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const name = nameOf("killed")
      yield* container(spec("killed"))
      yield* engine.startContainer(name)
      const waiting = yield* Effect.fork(engine.waitContainer(name))
      // A wait that arrives after the removal is a 404: remove only once the wait is with the
      // engine, its fiber suspended on the engine's answer.
      yield* Effect.repeat(waiting.status, {
        until: FiberStatus.isSuspended,
        schedule: Schedule.spaced("10 millis")
      })
      yield* engine.removeContainer(name)
      assert.strictEqual(yield* Fiber.join(waiting), 137)
    })
  )

  test("names are unique (NameConflict) and unknown ones are ContainerNotFound", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      yield* container(spec("unique"))
      const conflict = yield* failureOf(engine.createContainer(spec("unique")))
      assert.strictEqual(conflict._tag, "NameConflict")
      assert.strictEqual((conflict as ContainerEngineError.NameConflict).name, nameOf("unique"))
      assert.strictEqual((conflict as ContainerEngineError.NameConflict).kind, "container")
      const ghost = nameOf("ghost")
      for (const attempt of [
        engine.inspectContainer(ghost),
        engine.startContainer(ghost),
        engine.removeContainer(ghost),
        engine.waitContainer(ghost),
        engine.logs(ghost, { tail: 1 })
      ]) {
        const error = yield* failureOf(attempt)
        assert.strictEqual(error._tag, "ContainerNotFound")
        assert.strictEqual((error as ContainerEngineError.ContainerNotFound).container, ghost)
      }
    })
  )

  test("create refuses a missing image (ImageNotFound) and a missing volume (VolumeNotFound)", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const absent = ImageRef.ImageRef.make(`armada/conformance-absent-${runId}:dev`)
      const noImage = yield* failureOf(engine.createContainer(spec("no-image", { image: absent })))
      assert.strictEqual(noImage._tag, "ImageNotFound")
      const mounts = [{ volume: nameOf("no-such-volume"), target: "/data", readOnly: false }]
      const noVolume = yield* failureOf(engine.createContainer(spec("no-volume", { mounts })))
      assert.strictEqual(noVolume._tag, "VolumeNotFound")
      assert.strictEqual((noVolume as ContainerEngineError.VolumeNotFound).volume, nameOf("no-such-volume"))
      // Of several mounts, the one that is missing is named.
      const present = yield* volume("present")
      const twoMounts = [
        { volume: present, target: "/data", readOnly: false },
        { volume: nameOf("no-such-volume"), target: "/more", readOnly: false }
      ]
      const oneMissing = yield* failureOf(engine.createContainer(spec("one-missing", { mounts: twoMounts })))
      assert.strictEqual(oneMissing._tag, "VolumeNotFound")
      assert.strictEqual((oneMissing as ContainerEngineError.VolumeNotFound).volume, nameOf("no-such-volume"))
      assert.deepStrictEqual(
        (yield* engine.listVolumes(runLabel)).map((info) => info.name),
        [present],
        "no volume was made on the way"
      )
      assert.strictEqual((yield* engine.listContainers(runLabel)).length, 0)
    })
  )

  test("create refuses a volume that was there for the create before and has been removed since", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      const gone = yield* volume("removed-since")
      const mounts = [{ volume: gone, target: "/data", readOnly: false }]
      yield* container(spec("before-removal", { mounts }))
      yield* engine.removeContainer(nameOf("before-removal"))
      yield* engine.removeVolume(gone)
      const error = yield* failureOf(engine.createContainer(spec("after-removal", { mounts })))
      assert.strictEqual(error._tag, "VolumeNotFound")
      assert.strictEqual((error as ContainerEngineError.VolumeNotFound).volume, gone)
      assert.deepStrictEqual(yield* engine.listVolumes(runLabel), [], "the create made no volume")
    })
  )

  test("label filters select exactly the matching containers", [], () =>
    Effect.gen(function* () {
      const engine = yield* ContainerEngine
      yield* container(spec("filter-a", { labels: { ...labels, "armada.test.case": "a" } }))
      yield* container(spec("filter-b", { labels: { ...labels, "armada.test.case": "b" } }))
      const onlyA = yield* engine.listContainers({ ...runLabel, "armada.test.case": "a" })
      assert.deepStrictEqual(
        onlyA.map((info) => info.name),
        [nameOf("filter-a")]
      )
      const both = yield* engine.listContainers(runLabel)
      assert.deepStrictEqual(both.map((info) => info.name).sort(), [nameOf("filter-a"), nameOf("filter-b")])
    })
  )
}
