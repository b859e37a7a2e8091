import { Glob } from "@armada/test-app"
import { assert, describe, it } from "@effect/vitest"

const cases: ReadonlyArray<readonly [glob: string, path: string, expected: boolean]> = [
  ["*.md", "a.md", true],
  ["*.md", "dir/a.md", false],
  ["*.md", ".hidden.md", true],
  ["**/*.md", "a.md", true],
  ["**/*.md", "x/y/a.md", true],
  ["**/*.md", "x/y/a.mdx", false],
  ["src/**", "src/a/b.ts", true],
  ["src/**", "lib/a.ts", false],
  ["src/**", "src", true],
  ["src/**/test/*.ts", "src/test/a.ts", true],
  ["src/**/test/*.ts", "src/a/b/test/a.ts", true],
  ["src/**/test/*.ts", "src/a/b/test/x/a.ts", false],
  ["**", "anything/at/all", true],
  ["a?c.txt", "abc.txt", true],
  ["a?c.txt", "a/c.txt", false],
  ["a?c.txt", "abbc.txt", false],
  ["*.{ts,js}", "x.ts", true],
  ["*.{ts,js}", "x.js", true],
  ["*.{ts,js}", "x.tsx", false],
  ["{src,lib}/**/*.{ts,md}", "lib/a/b.md", true],
  ["{src,lib/{a,b}}/*.ts", "lib/b/x.ts", true],
  ["{src,lib/{a,b}}/*.ts", "lib/c/x.ts", false],
  ["{**/*.test.ts,fixtures/**}", "deep/x.test.ts", true],
  ["{**/*.test.ts,fixtures/**}", "fixtures/y.json", true],
  ["[abc].txt", "b.txt", true],
  ["[abc].txt", "d.txt", false],
  ["[!abc].txt", "d.txt", true],
  ["[!abc].txt", "a.txt", false],
  ["file[0-9].log", "file7.log", true],
  ["a.b", "aXb", false],
  ["(x)+$.txt", "(x)+$.txt", true],
  ["[!abc]", "/", false],
  ["\\*.txt", "*.txt", true],
  ["\\*.txt", "a.txt", false],
  ["./docs/*.md", "docs/a.md", true],
  ["a**b", "axxb", true],
  ["a**b", "ax/xb", false],
  ["README.md", "README.md", true],
  ["README.md", "sub/README.md", false]
]

describe("Glob", () => {
  for (const [glob, path, expected] of cases) {
    it(`${JSON.stringify(glob)} ${expected ? "matches" : "does not match"} ${JSON.stringify(path)}`, () => {
      assert.strictEqual(Glob.matches(glob, path), expected)
    })
  }
})
