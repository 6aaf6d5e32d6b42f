/**
 * Waiting for a state the test can only observe by asking (a systemd property, a count in
 * /status or /metrics): poll with a pause between tries and fail with what was awaited.
 */

/** Poll `fn` until it returns a truthy value, or fail with what it last saw. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
