/** Waiting that stops when a signal aborts, even if the awaited work ignores the signal (the gateway and jobs both wait so). */

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
