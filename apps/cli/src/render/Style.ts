/**
 * Colours for the terminal, or none: the same renderers serve both, so a pipe never gets an
 * escape code.
 *
 * Six SGR pairs written out rather than taken from @effect/printer-ansi (which the CLI does use,
 * for the live view's cursor commands in `Screen.ts`): printer-ansi has no faint attribute, which
 * the live view uses for its secondary text, and its nearest, bright black, is the background
 * colour in common themes (Solarized Dark); and its styles nest only inside its `Doc` layout
 * (each change re-sends the whole state after a reset), while these renderers build and cut plain
 * strings, where each style here closes only itself, so a red count inside the faint footer
 * leaves the rest of the footer faint.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface Style {
  readonly bold: (text: string) => string
  readonly dim: (text: string) => string
  readonly red: (text: string) => string
  readonly green: (text: string) => string
  readonly yellow: (text: string) => string
  readonly cyan: (text: string) => string
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`

/**
 * @since 0.1.0
 * @category constructors
 */
export const ansi: Style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39)
}

/**
 * Ends every style: what a line cut in the middle of a styled run needs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const reset = "\x1b[0m"

const same = (text: string) => text

/**
 * @since 0.1.0
 * @category constructors
 */
export const plain: Style = { bold: same, dim: same, red: same, green: same, yellow: same, cyan: same }
