/**
 * The escape sequences that draw the live view in place, from @effect/printer-ansi's `Ansi`
 * commands. The one it lacks is written out here: a synchronized update (DEC private mode 2026),
 * within which the terminal shows a frame only once it is whole, so a redraw never flickers;
 * terminals that do not know the mode ignore it.
 *
 * @since 0.1.0
 */
import * as Ansi from "@effect/printer-ansi/Ansi"

/**
 * @since 0.1.0
 * @category constants
 */
export const hideCursor: string = Ansi.stringify(Ansi.cursorHide)

/**
 * @since 0.1.0
 * @category constants
 */
export const showCursor: string = Ansi.stringify(Ansi.cursorShow)

const beginUpdate = "\x1b[?2026h"

/**
 * Ends a synchronized update; a terminal holds back what follows an update left open.
 *
 * @since 0.1.0
 * @category constants
 */
export const endUpdate = "\x1b[?2026l"

const clearToEndOfLine = Ansi.stringify(Ansi.eraseEndLine)
const clearBelow = Ansi.stringify(Ansi.eraseDown)

/**
 * Draws `lines` over the previous frame, `previousHeight` lines tall: up to its first line,
 * rewrite each line, clear what is left of a taller frame.
 *
 * @since 0.1.0
 * @category rendering
 */
export const frame = (previousHeight: number, lines: ReadonlyArray<string>): string =>
  `${beginUpdate}${previousHeight > 0 ? Ansi.stringify(Ansi.cursorPrevLine(previousHeight)) : ""}${lines
    .map((line) => `${line}${clearToEndOfLine}\n`)
    .join("")}${clearBelow}${endUpdate}`
