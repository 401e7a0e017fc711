/** Waiting that stops when a signal aborts, even if the awaited work ignores the signal (the gateway and jobs both wait so). */

/**
 * A controller that also aborts (with the same reason) when `parent` does:
 * what `AbortSignal.any([parent, own])` gives, without a composite signal
 * per call (they cost weak references and bookkeeping on hot paths).
 * `release()` stops following the parent once the child's work is over.
 */
export function childController (parent: AbortSignal): { controller: AbortController, release: () => void } {
  const controller = new AbortController()
  if (parent.aborted) {
    controller.abort(parent.reason)
    return { controller, release: () => {} }
  }
  const follow = (): void => { controller.abort(parent.reason) }
  parent.addEventListener('abort', follow, { once: true })
  return { controller, release: () => { parent.removeEventListener('abort', follow) } }
}

/**
 * A signal that aborts when `parent` does or after `ms` (a TimeoutError
 * DOMException, like AbortSignal.timeout's). Unlike
 * `AbortSignal.any([parent, AbortSignal.timeout(ms)])`, `release()` clears
 * the timer at once: a peer opening thousands of short streams cannot keep
 * a timer and its signals alive for `ms` after each one is done.
 */
export function timeoutChild (parent: AbortSignal, ms: number): { signal: AbortSignal, release: () => void } {
  const { controller, release: unfollow } = childController(parent)
  const timer = setTimeout(() => { controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')) }, ms)
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer)
      unfollow()
    }
  }
}

/** Settle with `promise`, or reject with the signal's reason as soon as it aborts. */
export async function raceAbort<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {})
    throw signal.reason
  }
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => {})
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(value => {
      signal.removeEventListener('abort', onAbort)
      resolve(value)
    }, (err: unknown) => {
      signal.removeEventListener('abort', onAbort)
      reject(err)
    })
  })
}

/**
 * Iterate `source` until `signal` aborts: a source stuck before its next
 * value (a provider that ignores its signal) cannot hold the caller, and
 * is told to stop (`return()`) when we leave early.
 */
export async function * abortable<T> (source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]()
  let finished = false
  try {
    while (true) {
      const result = await raceAbort(iterator.next(), signal)
      if (result.done === true) {
        finished = true
        return
      }
      yield result.value
    }
  } finally {
    if (!finished && iterator.return !== undefined) {
      Promise.resolve(iterator.return()).catch(() => {})
    }
  }
}
