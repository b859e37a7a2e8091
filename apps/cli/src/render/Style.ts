/**
 * Colours for the terminal, or none: the same renderers serve both, so a pipe never gets an
 * escape code.
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

const same = (text: string) => text

/**
 * @since 0.1.0
 * @category constructors
 */
export const plain: Style = { bold: same, dim: same, red: same, green: same, yellow: same, cyan: same }
