/**
 * Waiting on conditions with a bounded timeout — never a fixed sleep. A
 * failed wait says what it waited for, so a red test explains itself.
 */
export interface WaitOptions {
  timeoutMs?: number
  intervalMs?: number
}

/** Poll `condition` until it returns a truthy value (returned), or throw after timeoutMs. */
export async function waitFor<T> (what: string, condition: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const intervalMs = opts.intervalMs ?? 25
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await condition()
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
