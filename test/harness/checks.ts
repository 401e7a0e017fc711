/** Small checks many tests share: error codes, draining a chat stream, cosine similarity. */
import assert from 'node:assert/strict'
import { AgoraError, isAgoraError } from '../../src/errors.ts'
import type { ChatEvent } from '../../src/providers/inference.ts'

/** For `assert.rejects` / `assert.throws`: the error is an AgoraError with this code. */
export function isCode (code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(isAgoraError(err), String(err))
    assert.equal(err.code, code, err.format())
    return true
  }
}

/** Every event of a chat stream, in order. */
export async function drain (events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = []
  for await (const event of events) out.push(event)
  return out
}

export function cosine (a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number)
    na += (a[i] as number) ** 2
    nb += (b[i] as number) ** 2
  }
  return dot / Math.sqrt(na * nb)
}

/** The AgoraError `fn` throws (fails the test when it throws something else, or nothing). */
export function thrown (fn: () => unknown): AgoraError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof AgoraError, String(err))
    return err
  }
  assert.fail('expected an error')
}

/** The AgoraError `fn` throws, which must carry `code`. */
export function throwsCode (fn: () => unknown, code: string): AgoraError {
  const err = thrown(fn)
  assert.equal(err.code, code, err.message)
  return err
}
