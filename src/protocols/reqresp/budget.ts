/**
 * How many bytes of requests not yet read whole the serving side holds for
 * one protocol, for the whole node and per peer (sizes: inboundBudgetFor).
 * A request frame may be megabytes (tasks carry their input) and a peer may
 * open dozens of streams per protocol and connection: without a shared
 * bound, peers the node serves could make it hold streams × frame cap bytes. A stream whose next chunk does not fit is
 * reset (its peer sees the stream fail and may retry later); the bytes come
 * back as frames are read whole or their stream ends.
 */

export interface InboundBudgetInit {
  /** Bytes held for every peer together. */
  totalBytes: number
  /** Bytes held for one peer. */
  perPeerBytes: number
}

/** The share of one stream's reader: take before holding bytes, give back when they leave. */
export interface ByteBudget {
  /** Reserve `bytes`; false (nothing reserved) when they do not fit. */
  take(bytes: number): boolean
  give(bytes: number): void
}

export class InboundBudget {
  private readonly totalBytes: number
  private readonly perPeerBytes: number
  private used = 0
  /** Bytes held per peer; a peer leaves the map when it holds none (the map is as large as the peers with partial frames). */
  private readonly byPeer = new Map<string, number>()

  constructor (init: InboundBudgetInit) {
    this.totalBytes = init.totalBytes
    this.perPeerBytes = init.perPeerBytes
  }

  /** Bytes held now: for everyone, or for `peerId`. */
  held (peerId?: string): number {
    return peerId === undefined ? this.used : this.byPeer.get(peerId) ?? 0
  }

  /** The budget a reader of `peerId`'s stream draws on. */
  forPeer (peerId: string): ByteBudget {
    return {
      take: bytes => this.take(peerId, bytes),
      give: bytes => { this.give(peerId, bytes) }
    }
  }

  private take (peerId: string, bytes: number): boolean {
    const peer = this.byPeer.get(peerId) ?? 0
    if (this.used + bytes > this.totalBytes || peer + bytes > this.perPeerBytes) return false
    this.used += bytes
    this.byPeer.set(peerId, peer + bytes)
    return true
  }

  private give (peerId: string, bytes: number): void {
    const peer = this.byPeer.get(peerId) ?? 0
    const returned = Math.min(bytes, peer)
    this.used -= returned
    if (peer - returned <= 0) this.byPeer.delete(peerId)
    else this.byPeer.set(peerId, peer - returned)
  }
}
