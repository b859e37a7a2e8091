import { execFile } from "node:child_process"
import * as fs from "node:fs"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as DockerContext from "../src/DockerContext.js"
import { skipWithoutEngine } from "../src/Engine.js"

const skip = skipWithoutEngine("testkit DockerContext")

const docker = (config: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() =>
    promisify(execFile)("docker", args, {
      timeout: 60_000,
      env: { ...process.env, DOCKER_HOST: "", DOCKER_CONTEXT: "", DOCKER_CONFIG: config, ...env }
    }).then(({ stdout }) => stdout.trim())
  )

describe.skipIf(skip)("DockerContext", () => {
  it.live("the docker CLI reads the store it writes: endpoints, the current context, TLS material", () =>
    Effect.gen(function* () {
      const config = yield* Effect.scoped(
        Effect.gen(function* () {
          const pem = `${fs.mkdtempSync("/tmp/armada-pem-")}/ca.pem`
          fs.writeFileSync(pem, "not checked by inspect\n")
          const config = yield* DockerContext.make(
            [
              { name: "local-engine", host: "unix:///var/run/docker.sock" },
              { name: "remote", host: "tcp://127.0.0.1:2376", tls: { ca: pem } }
            ],
            "remote"
          )
          fs.rmSync(pem.replace(/\/ca\.pem$/, ""), { recursive: true })
          const listed = yield* docker(config, [
            "context",
            "ls",
            "--format",
            "{{.Name}} {{.Current}} {{.DockerEndpoint}}"
          ])
          assert.include(listed, "local-engine false unix:///var/run/docker.sock")
          assert.include(listed, "remote true tcp://127.0.0.1:2376")
          const tls = yield* docker(config, [
            "context",
            "inspect",
            "remote",
            "--format",
            "{{json .TLSMaterial}}"
          ])
          assert.include(tls, "ca.pem")
          assert.match(
            yield* docker(config, ["version", "--format", "{{.Server.Version}}"], {
              DOCKER_CONTEXT: "local-engine"
            }),
            /^\d+\./
          )
          return config
        })
      )
      assert.isFalse(fs.existsSync(config))
    })
  )
})
