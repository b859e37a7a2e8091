import { Protocol } from "@armada/http"
import { Settings } from "@armada/test-app"
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"

const read = (env: Record<string, string>, argv: ReadonlyArray<string> = []) => Settings.fromEnv(env, argv)
const ok = (env: Record<string, string>, argv: ReadonlyArray<string> = []) => {
  const result = read(env, argv)
  if (Either.isLeft(result)) throw new Error(result.left)
  return result.right
}
const problem = (env: Record<string, string>, argv: ReadonlyArray<string> = []) => {
  const result = read(env, argv)
  if (Either.isRight(result)) throw new Error("expected a problem")
  return result.left
}

describe("Settings.fromEnv", () => {
  it("defaults to a processor on 0.0.0.0:5551 with no faults and no workspace root", () => {
    assert.deepStrictEqual(ok({}), {
      role: "processor",
      host: "0.0.0.0",
      port: 5551,
      workspaceRoot: undefined,
      maxFileBytes: Protocol.defaultMaxFileBytes,
      faults: Settings.noFaults
    })
  })

  it("gives each role its port, and --role wins over ARMADA_ROLE", () => {
    assert.strictEqual(ok({ ARMADA_ROLE: "plugin" }).port, 5552)
    assert.strictEqual(ok({ ARMADA_ROLE: "merger" }).port, 9000)
    assert.strictEqual(ok({ ARMADA_ROLE: "resolver" }).port, 5553)
    assert.strictEqual(ok({ ARMADA_ROLE: "plugin" }, ["--role", "merger"]).role, "merger")
    assert.strictEqual(ok({}, ["--role=plugin"]).role, "plugin")
    assert.strictEqual(ok({ ARMADA_ROLE: "merger", ARMADA_LISTEN_PORT: "7000" }).port, 7000)
  })

  it("reads the host, the workspace root, the merger's file bound and every fault knob", () => {
    const settings = ok({
      ARMADA_LISTEN_HOST: "127.0.0.1",
      ARMADA_WORKSPACE_ROOT: "/tmp/c1",
      ARMADA_MERGER_MAX_BYTES: "4096",
      ARMADA_FAULT_START_DELAY_MS: "250",
      ARMADA_FAULT_EXIT: "3",
      ARMADA_FAULT_STATUS: "503",
      ARMADA_FAULT_HANG: "1",
      ARMADA_FAULT_MALFORMED: "1",
      ARMADA_FAULT_OUTSIDE_AREA: "1",
      ARMADA_FAULT_WRITE_TEMPLATE: "1",
      ARMADA_FAULT_BIG_RESPONSE: "2000000",
      ARMADA_FAULT_STREAM_FOREVER: "1",
      ARMADA_FAULT_EXIT_DURING_CALL: "4",
      ARMADA_FAULT_COPY_THEN_RENDER: "1",
      ARMADA_FAULT_WRONG_PATH: "1"
    })
    assert.strictEqual(settings.host, "127.0.0.1")
    assert.strictEqual(settings.workspaceRoot, "/tmp/c1")
    assert.strictEqual(settings.maxFileBytes, 4096)
    assert.deepStrictEqual(settings.faults, {
      startDelayMillis: 250,
      exitCode: 3,
      status: 503,
      hang: true,
      malformed: true,
      outsideArea: true,
      writeTemplate: true,
      bigResponseBytes: 2_000_000,
      streamForever: true,
      exitDuringCall: 4,
      copyThenRender: true,
      wrongPath: true
    })
    assert.isFalse(ok({ ARMADA_FAULT_HANG: "0" }).faults.hang)
    assert.isTrue(ok({ ARMADA_FAULT_HANG: "true" }).faults.hang)
  })

  it("takes an empty variable for an unset one", () => {
    assert.deepStrictEqual(
      ok({ ARMADA_ROLE: "", ARMADA_LISTEN_PORT: "", ARMADA_FAULT_EXIT: "", ARMADA_FAULT_HANG: "" }),
      ok({})
    )
  })

  it("names the variable and the value of a bad setting, every one of them", () => {
    assert.include(problem({ ARMADA_ROLE: "painter" }), "ARMADA_ROLE: ")
    assert.include(problem({ ARMADA_ROLE: "painter" }), "painter")
    assert.include(
      problem({ ARMADA_LISTEN_PORT: "70000" }),
      "ARMADA_LISTEN_PORT: must be an integer from 0 to 65535, got 70000"
    )
    assert.include(problem({ ARMADA_FAULT_STATUS: "abc" }), "ARMADA_FAULT_STATUS: ")
    assert.include(problem({ ARMADA_FAULT_STATUS: "abc" }), "abc")
    const both = problem({ ARMADA_FAULT_HANG: "maybe", ARMADA_FAULT_EXIT: "300" })
    assert.include(both, "ARMADA_FAULT_HANG: ")
    assert.include(both, "maybe")
    assert.include(both, "ARMADA_FAULT_EXIT: must be an integer from 0 to 255, got 300")
    assert.include(
      problem({}, ["--role", "painter"]),
      '--role must be one of processor, plugin, merger, resolver, got "painter"'
    )
    assert.include(problem({}, ["--verbose"]), 'unknown argument "--verbose"')
  })
})
