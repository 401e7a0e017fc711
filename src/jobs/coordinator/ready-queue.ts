/**
 * The ready subtasks of a running job, first in first out, with the ones
 * taken but not launched put back at the front. An array with a moving
 * head: taking is O(1) (Array#shift on a 10,000-subtask job copied the
 * whole queue at every launch), compacted once the head passes half.
 */

/** Compact when at least this many slots before the head are spent (and they are half the array). */
const COMPACT_AFTER = 1024

export class ReadyQueue {
  private items: string[]
  private head = 0

  constructor (ids: string[] = []) {
    this.items = ids
  }

  get size (): number {
    return this.items.length - this.head
  }

  push (id: string): void {
    this.items.push(id)
  }

  /** The oldest id, or undefined when empty. */
  shift (): string | undefined {
    if (this.head >= this.items.length) return undefined
    const id = this.items[this.head++] as string
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return id
  }

  /** Put ids back at the front, in the given order (they come first again). */
  unshiftAll (ids: readonly string[]): void {
    if (ids.length === 0) return
    if (ids.length <= this.head) {
      for (let i = ids.length - 1; i >= 0; i--) this.items[--this.head] = ids[i] as string
      return
    }
    this.items = [...ids, ...this.items.slice(this.head)]
    this.head = 0
  }
}
