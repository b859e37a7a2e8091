import type * as http from "node:http"
import { ImageRef } from "@armada/core"
import { DockerEngineLive } from "@armada/docker"
import { ContainerEngine, type ContainerSpec } from "@armada/engine"
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as Remembered from "../src/internal/remembered.js"
import { fakeEngine } from "./fakeEngine.js"

/**
 * The live engine on a fake that has the volumes in `volumes`, creates every container, and
 * records the requests that look a volume up.
 */
const engineWithVolumes = (volumes: Set<string>) =>
  Effect.gen(function* () {
    const lookups: Array<string> = []
    const fake = yield* fakeEngine((request: http.IncomingMessage, response: http.ServerResponse) => {
      const url = new URL(request.url ?? "/", "http://engine")
      const path = url.pathname.replace(/^\/v[\d.]+/, "")
      const json = (status: number, body: unknown) =>
        response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
      request.resume()
      request.on("end", () => {
        const volume = /^\/volumes\/([^/]+)$/.exec(path)?.[1]
        if (request.method === "GET" && volume !== undefined) {
          lookups.push(volume)
          return volumes.has(volume) ? json(200, { Name: volume }) : json(404, { message: "no such volume" })
        }
        if (request.method === "GET" && path === "/volumes") {
          const names: Array<string> = JSON.parse(url.searchParams.get("filters") ?? "{}").name ?? []
          lookups.push(names.join("+"))
          return json(200, { Volumes: names.filter((name) => volumes.has(name)).map((Name) => ({ Name })) })
        }
        if (request.method === "DELETE" && volume !== undefined) {
          volumes.delete(volume)
          return response.writeHead(204).end()
        }
        if (request.method === "POST" && path === "/volumes/create") return json(201, { Name: "made" })
        if (request.method === "POST" && path === "/containers/create") return json(201, { Id: "c1" })
        return json(500, { message: `unexpected ${request.method} ${path}` })
      })
    })
    const engine = ContainerEngine.make(yield* DockerEngineLive.make({ host: `unix://${fake.socket}` }))
    return { engine, lookups }
  })

const mounting = (...volumes: Array<string>): ContainerSpec => ({
  name: "armada-c",
  image: ImageRef.ImageRef.make("armada/test-app:dev"),
  labels: {},
  mounts: volumes.map((volume, i) => ({ volume, target: `/m${i}`, readOnly: false }))
})

describe("the volumes a live engine's creates require", () => {
  it.scoped("are looked up once for a burst of creates, again after 10 s, and never when it made them", () =>
    Effect.gen(function* () {
      const { engine, lookups } = yield* engineWithVolumes(new Set(["area", "template", "extra"]))
      for (let i = 0; i < 3; i++) yield* engine.createContainer(mounting("area", "template"))
      assert.deepStrictEqual(lookups, ["area+template"])
      yield* engine.createContainer(mounting("area", "extra"))
      assert.deepStrictEqual(lookups, ["area+template", "extra"])

      yield* TestClock.adjust(Remembered.rememberMillis)
      yield* engine.createContainer(mounting("area"))
      assert.deepStrictEqual(lookups, ["area+template", "extra", "area"])

      yield* engine.createVolume({ name: "made", labels: {} })
      yield* engine.createContainer(mounting("made"))
      assert.deepStrictEqual(lookups, ["area+template", "extra", "area"])
    })
  )

  it.scoped("a volume this engine removed is looked up again, and its absence refuses the create", () =>
    Effect.gen(function* () {
      const { engine, lookups } = yield* engineWithVolumes(new Set(["area"]))
      yield* engine.createContainer(mounting("area"))
      yield* engine.removeVolume("area")
      const error = yield* Effect.flip(engine.createContainer(mounting("area")))
      assert.strictEqual(error._tag, "VolumeNotFound")
      assert.deepStrictEqual(lookups, ["area", "area"])
      // Not found is not remembered either.
      yield* Effect.flip(engine.createContainer(mounting("area")))
      assert.deepStrictEqual(lookups, ["area", "area", "area"])
    })
  )
})
