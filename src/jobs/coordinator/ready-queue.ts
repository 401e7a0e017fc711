/**
 * The ready subtasks of a running job, first in first out, with the ones
 * taken but not launched put back at the front. An array with a moving
 * head: taking is O(1) (Array#shift on a 10,000-subtask job copied the
 * whole queue at every launch), compacted once the head passes half.
 * It counts its ids by task type, so a scan can stop as soon as every type
 * it holds is blocked.
 */

/** Compact when at least this many slots before the head are spent (and they are half the array). */
const COMPACT_AFTER = 1024

export class ReadyQueue {
  private items: string[]
  private head = 0
  private readonly typeOf: (id: string) => string
  private readonly perType = new Map<string, number>()

  constructor (ids: string[] = [], typeOf: (id: string) => string = () => '') {
    this.items = ids
    this.typeOf = typeOf
    for (const id of ids) this.count(id, 1)
  }

  get size (): number {
    return this.items.length - this.head
  }

  /** Whether some queued id has a task type outside `blocked` (plans have a handful of types). */
  holdsOtherThan (blocked: ReadonlySet<string>): boolean {
    for (const type of this.perType.keys()) if (!blocked.has(type)) return true
    return false
  }

  push (id: string): void {
    this.items.push(id)
    this.count(id, 1)
  }

  /** The oldest id, or undefined when empty. */
  shift (): string | undefined {
    if (this.head >= this.items.length) return undefined
    const id = this.items[this.head++] as string
    this.count(id, -1)
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return id
  }

  /** Put ids back at the front, in the given order (they come first again). */
  unshiftAll (ids: readonly string[]): void {
    if (ids.length === 0) return
    for (const id of ids) this.count(id, 1)
    if (ids.length <= this.head) {
      for (let i = ids.length - 1; i >= 0; i--) this.items[--this.head] = ids[i] as string
      return
    }
    this.items = [...ids, ...this.items.slice(this.head)]
    this.head = 0
  }

  private count (id: string, n: number): void {
    const type = this.typeOf(id)
    const value = (this.perType.get(type) ?? 0) + n
    if (value > 0) this.perType.set(type, value)
    else this.perType.delete(type)
  }
}
