/**
 * Poll `cond` every `every` ms until it holds; after `ms`, fail naming `what`. A test that waits on
 * a process or a file says what never came, rather than running into its own timeout in silence.
 */
export async function waitFor(cond: () => boolean, what: string, ms = 60_000, every = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
