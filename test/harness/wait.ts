/** Polling for a condition another session brings about, in tests that must not depend on timing. */

/** Poll interval (ms). */
const POLL_MS = 20;
/** Bound on the wait: it catches a hang, it is not a speed check. */
const WAIT_BOUND_MS = 30_000;

/** Polls `probe` until it returns a value; fails naming `what` after {@link WAIT_BOUND_MS}. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let waited = 0; waited < WAIT_BOUND_MS; waited += POLL_MS) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`timed out waiting for ${what}`);
}
