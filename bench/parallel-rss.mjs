// Child process of `pnpm bench parallel`, case (c): runs one contender on 1,000,000 no-op items
// and prints its peak resident set size in bytes.
import { contenders } from "./parallel-contenders.mjs"

const [name, count = "1000000", concurrency = "16"] = process.argv.slice(2)
const items = Array.from({ length: Number(count) }, (_, i) => i)
const failed = await contenders[name](items, Number(concurrency), "noop")
if (failed !== 0) throw new Error(`${name}: ${failed} items failed`)
process.stdout.write(`${JSON.stringify({ name, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`)
