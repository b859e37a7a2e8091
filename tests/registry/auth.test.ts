import { randomBytes } from "node:crypto"
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Credentials, DockerEngineLive } from "@armada/docker"
import { Bulk } from "@armada/engine"
import type { Registry } from "@armada/testkit"
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Logger, Tracer } from "effect"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { labelled, nothing, sweep } from "../support.js"
import {
  armada,
  assertNoSecret,
  example,
  exampleSpec,
  type Fixture,
  jsonLines,
  makeFixture,
  prefix,
  type Result,
  removePulled,
  requireBin,
  skip,
  tree
} from "./support.js"

const user = "armada"
const password = `pw-${randomBytes(12).toString("hex")}`
const wrong = `wrong-${randomBytes(12).toString("hex")}`
/** Every form a secret could leak in: the passwords and `user:password`, as is and base64. */
const secrets = [password, wrong, `${user}:${password}`, `${user}:${wrong}`]

// A registry that wants a user, and credentials found the way the Docker CLI finds them.
describe.skipIf(skip("tests/registry/auth (credentials)"))("credentials for a private registry", () => {
  let fixture: Fixture
  let registry: Registry.Registry
  let image: string
  let spec: string

  /** A DOCKER_CONFIG folder holding `config`. */
  const dockerConfig = (config: unknown): string => {
    const folder = mkdtempSync(join(fixture.work, "docker-config-"))
    writeFileSync(join(folder, "config.json"), JSON.stringify(config))
    return folder
  }
  const auths = (secret: string) =>
    dockerConfig({
      auths: { [registry.address]: { auth: Buffer.from(`${user}:${secret}`).toString("base64") } }
    })
  /** A folder for PATH with `docker-credential-armadatest`, which answers with the password. */
  const helperBin = (): string => {
    const folder = mkdtempSync(join(fixture.work, "bin-"))
    const helper = join(folder, "docker-credential-armadatest")
    writeFileSync(
      helper,
      `#!/bin/sh\nread server\n[ "$1" = get ] && [ "$server" = "${registry.address}" ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf '{"ServerURL":"%s","Username":"${user}","Secret":"${password}"}' "$server"\n`
    )
    chmodSync(helper, 0o755)
    return folder
  }

  /** `armada run` of the spec with `env`; `output` is where its result went. */
  const run = async (
    env: Readonly<Record<string, string>>,
    ...flags: ReadonlyArray<string>
  ): Promise<Result & { readonly output: string }> => {
    const output = join(mkdtempSync(join(fixture.work, "out-")), "result")
    const result = await armada(["run", spec, "--output", output, "--prefix", prefix, ...flags], env)
    return { ...result, output }
  }

  const assertClean = (result: Result, where: string) =>
    assertNoSecret(`${result.stdout}\n${result.stderr}`, secrets, where)

  beforeAll(async () => {
    requireBin()
    fixture = makeFixture()
    registry = await fixture.start({ auth: { username: user, password } })
    const [pushed] = await fixture.push(registry, ["private/app:v1"])
    image = pushed!.tag
    spec = exampleSpec(fixture.work, { docs: image })
    mkdirSync(join(fixture.work, "empty-config"))
  })

  afterEach(async () => {
    await removePulled([image])
    try {
      assert.deepStrictEqual(labelled(`${prefix}.managed=true`), nothing, "a run left resources")
    } finally {
      sweep(`${prefix}.managed=true`)
    }
  })

  afterAll(() => fixture?.close())

  it("with the credentials in the config file's auths, the run succeeds with the expected output, and the secret shows nowhere (NDJSON, logs, Result)", async () => {
    const result = await run({ DOCKER_CONFIG: auths(password) }, "--json")
    assert.strictEqual(result.code, 0, result.stdout + result.stderr)
    const events = jsonLines(result.stdout)
    assert.isTrue(events.some((event) => event._tag === "ItemSucceeded" && event.item === image))
    assert.strictEqual(events.at(-1)!.outcome, "success")
    assert.deepStrictEqual(tree(result.output), tree(join(example, "expected")))
    assertClean(result, "the NDJSON events and the Result")
  })

  it("with a docker-credential-* helper on PATH named by credHelpers, the run succeeds; --verbose shows no secret", async () => {
    const env = {
      DOCKER_CONFIG: dockerConfig({ credHelpers: { [registry.address]: "armadatest" } }),
      PATH: `${helperBin()}:${process.env.PATH}`
    }
    const result = await run(env, "--verbose")
    assert.strictEqual(result.code, 0, result.stdout + result.stderr)
    assert.include(result.stdout, "✔ run succeeded")
    assertClean(result, "the verbose output")
  })

  it("with wrong credentials, or none, exit 1 naming the image and unauthorized, and no secret anywhere", async () => {
    for (const [what, env] of [
      ["wrong", { DOCKER_CONFIG: auths(wrong) }],
      ["none", { DOCKER_CONFIG: join(fixture.work, "empty-config") }]
    ] as const) {
      for (const flags of [["--json"], ["--verbose"]]) {
        const result = await run(env, ...flags)
        const output = `${result.stdout}\n${result.stderr}`
        assert.strictEqual(result.code, 1, `${what} ${flags}: ${output}`)
        assert.include(output, "unauthorized", what)
        assertClean(result, `${what} credentials, ${flags}`)
        if (flags[0] === "--json") {
          const document = jsonLines(result.stdout).at(-1)!
          const [failure] = document.failures as ReadonlyArray<{
            item: string
            image: string
            cause: { _tag: string; reason: string }
          }>
          assert.deepStrictEqual(
            [failure!.item, failure!.image, failure!.cause._tag, failure!.cause.reason],
            ["processor/docs", image, "PullFailed", "Unauthorized"]
          )
        } else {
          assert.include(
            output,
            `warm processor/docs (${image}): pulling ${image} failed: unauthorized`,
            what
          )
        }
      }
    }
  })

  it("doctor names each image's credential source, never the secret", async () => {
    const fromFile = auths(password)
    const file = await armada(["doctor", spec], { DOCKER_CONFIG: fromFile })
    assert.include(
      file.stdout,
      `credentials for ${registry.address}: auths[${JSON.stringify(registry.address)}] in ${join(fromFile, "config.json")}`
    )
    assert.include(file.stdout, "credentials for docker.io: none (anonymous)")
    assertClean(file, "doctor")
    const helper = await armada(["doctor", spec, "--json"], {
      DOCKER_CONFIG: dockerConfig({ credHelpers: { [registry.address]: "armadatest" } }),
      PATH: `${helperBin()}:${process.env.PATH}`
    })
    const findings = JSON.parse(helper.stdout) as {
      images: ReadonlyArray<{ image: string; credentials: string; credentialSource: unknown }>
    }
    const finding = findings.images.find((found) => found.image === image)
    assert.deepStrictEqual(finding?.credentialSource, {
      _tag: "CredentialHelper",
      helper: "armadatest",
      key: registry.address
    })
    assert.strictEqual(
      finding?.credentials,
      `docker-credential-armadatest (credHelpers["${registry.address}"])`
    )
    assertClean(helper, "doctor --json")
  })

  it("the library: a pull with credentials leaves no secret in its spans, its logs or its result", async () => {
    const recorded: Array<unknown> = []
    const tracer = Tracer.make({
      span: (name, parent, context, links, startTime, kind) => {
        const attributes = new Map<string, unknown>()
        const span: Tracer.Span = {
          _tag: "Span",
          name,
          spanId: randomBytes(8).toString("hex"),
          traceId: parent._tag === "Some" ? parent.value.traceId : randomBytes(16).toString("hex"),
          parent,
          context,
          status: { _tag: "Started", startTime },
          attributes,
          links,
          sampled: true,
          kind,
          end: (_endTime, exit) => recorded.push({ name, attributes: Object.fromEntries(attributes), exit }),
          attribute: (key, value) => attributes.set(key, value),
          event: (event, _time, eventAttributes) => recorded.push({ event, eventAttributes }),
          addLinks: () => undefined
        }
        return span
      },
      context: (f) => f()
    })
    const logs: Array<unknown> = []
    const logger = Logger.make((entry) => logs.push(entry.message))
    const credentials = Credentials.layer({ directory: auths(password) }).pipe(
      Layer.provide(NodeContext.layer)
    )
    const live = DockerEngineLive.layerConfig().pipe(Layer.provide(credentials), Layer.orDie)
    const outcome = await Effect.runPromise(
      Bulk.pullAll([image]).pipe(
        Effect.provide(live),
        Effect.withTracer(tracer),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Effect.withLogSpan("pull")
      )
    )
    assert.deepStrictEqual(
      outcome.successes.map((success) => success.value),
      ["pulled"]
    )
    assert.isTrue(recorded.length > 0, "spans were recorded")
    assert.isTrue(
      recorded.some((span) => (span as { name?: string }).name === "Credentials.lookup"),
      "the credentials were looked up in a span of their own"
    )
    assertNoSecret(JSON.stringify({ recorded, logs, outcome }), secrets, "the spans, logs and result")
  })
})
