// The contenders of `pnpm bench parallel`, each doing the same work for every item, with at
// most `concurrency` in flight and every result and every failure kept. Each loads its library on
// first use, so a child process of case (c) holds only its own contender's code.

// One shared error, so no contender pays for stack traces the others skip.
const boom = new Error("boom")

/** Items whose index is a multiple of ten fail under `tenPercentFail`. */
const failsAt = (i) => i % 10 === 0

/** How many of `count` items fail under `kind`. */
export const expectedFailures = (count, kind) => (kind === "tenPercentFail" ? Math.ceil(count / 10) : 0)

const wait = (i) => new Promise((resolve) => setTimeout(() => resolve(i), 1))

const peerWork = {
  noop: async (i) => i,
  tenPercentFail: async (i) => {
    if (failsAt(i)) throw boom
    return i
  },
  wait1ms: wait
}

const oursWork = ({ Effect }) => {
  const sleep1 = Effect.sleep("1 millis")
  return {
    noop: (i) => Effect.succeed(i),
    tenPercentFail: (i) => (failsAt(i) ? Effect.fail(boom) : Effect.succeed(i)),
    wait1ms: (i) => Effect.as(sleep1, i)
  }
}

const loadOurs = async () => {
  const [{ Parallel }, { Effect }] = await Promise.all([import("@armada/core"), import("effect")])
  return { Parallel, Effect, work: oursWork({ Effect }) }
}
let ours
let pMap
let pLimit

// Each contender resolves to the number of failed items, which the caller checks.
export const contenders = {
  // ours: `forEachCollect` with an Effect per item, folded into an `Outcome`.
  ours: async (items, concurrency, kind) => {
    ours ??= await loadOurs()
    const { Parallel, Effect, work } = ours
    return Effect.runPromise(
      Effect.map(
        Parallel.forEachCollect(items, work[kind], { concurrency }),
        (outcome) => outcome.failures.length
      )
    )
  },
  // The bare idiom `forEachCollect` is made of, without the `Outcome` fold and the capture of a
  // synchronous throw: what the core adds on top of it.
  effectForEach: async (items, concurrency, kind) => {
    ours ??= await loadOurs()
    const { Effect, work } = ours
    return Effect.runPromise(
      Effect.map(
        Effect.forEach(items, (item) => Effect.either(work[kind](item)), { concurrency }),
        (results) => results.filter((result) => result._tag === "Left").length
      )
    )
  },
  // p-map keeps going on errors and rejects at the end with an AggregateError of all of them.
  pMap: async (items, concurrency, kind) => {
    pMap ??= (await import("p-map")).default
    return pMap(items, peerWork[kind], { concurrency, stopOnError: false }).then(
      () => 0,
      (error) => error.errors.length
    )
  },
  // p-limit queues every item up front; Promise.allSettled keeps every result.
  pLimit: async (items, concurrency, kind) => {
    pLimit ??= (await import("p-limit")).default
    const limit = pLimit(concurrency)
    const work = peerWork[kind]
    return Promise.allSettled(items.map((item) => limit(work, item))).then(
      (settled) => settled.filter((s) => s.status === "rejected").length
    )
  }
}
