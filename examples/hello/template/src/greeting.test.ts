// Left out of the output: the `code` processor's glob excludes tests.
import { greeting } from "./greeting"

if (greeting("x") !== "Hello, x!") throw new Error("greeting is broken")
