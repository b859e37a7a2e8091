/**
 * Glob matching for relative POSIX paths, by picomatch (Node 20 has no `fs.glob`):
 *
 * - `*` any run of characters within one path segment, `?` one character other than `/`;
 * - `**` as a whole segment: any number of segments, including none (`**\/*.md` matches `a.md`
 *   and `x/y/a.md`; a trailing `/**` matches the folder itself and everything below);
 * - `{a,b}` alternatives (nestable, each may hold wildcards), `[abc]`, `[a-z]`, `[!a]` classes;
 * - `\` escapes the next character.
 *
 * Unlike shells, `*` also matches names that start with a dot: templates carry dotfiles too.
 *
 * @since 0.1.0
 */
import picomatch from "picomatch/posix.js"

const options: picomatch.PicomatchOptions = {
  // Templates carry dotfiles too.
  dot: true,
  // Bash's bracket expressions: without it picomatch reads `[!a]` as `[!a]` or one of `!`, `a`.
  posix: true
}

/**
 * Compiles `glob` into a predicate on relative POSIX paths (no leading `./`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (glob: string): ((path: string) => boolean) => picomatch(glob, options)

/**
 * @since 0.1.0
 * @category predicates
 */
export const matches = (glob: string, path: string): boolean => compile(glob)(path)
