/**
 * Waiting in a test for something outside it (a process, a terminal, an engine) to reach a state:
 * the condition itself is asked again and again until it holds, never a fixed sleep.
 *
 * @since 0.2.0
 */

/**
 * Waits until `condition` holds (it may answer with a promise), asking it every `every` ms; fails
 * after `millis`, naming `what`. The default deadline leaves room for a busy machine: a test that
 * waits for its subject should fail because the subject is wrong, not because the machine is slow.
 *
 * @since 0.2.0
 * @category combinators
 */
export const until = async (
  condition: () => boolean | Promise<boolean>,
  what: string,
  millis = 60_000,
  every = 50
): Promise<void> => {
  const deadline = Date.now() + millis
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${millis} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}
