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

/**
 * `promise`, or a rejection naming `what` once `timeoutMs` has passed: a
 * wait of the harness or of a test never hangs the run (the promise itself
 * is left to settle on its own).
 */
export async function within<T> (what: string, promise: Promise<T>, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)) }, timeoutMs)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Stop every item at once, each within `timeoutMs`; one error names those that did not stop (the others are stopped regardless). */
export async function stopAll<T> (items: readonly T[], name: (item: T) => string, stop: (item: T) => Promise<unknown>, timeoutMs = 20_000): Promise<void> {
  const stops = await Promise.allSettled(items.map(async item => await within(`${name(item)} to stop`, stop(item), timeoutMs)))
  const stuck = stops.flatMap(s => s.status === 'rejected' ? [s.reason as unknown] : [])
  if (stuck.length > 0) throw new AggregateError(stuck, `${stuck.length} of ${items.length} did not stop: ${stuck.map(e => e instanceof Error ? e.message : String(e)).join('; ')}`)
}
