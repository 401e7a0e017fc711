/** The verification routes' JSON (docs/api.md, "Verification"). */
export interface VerifyStatusJson {
  /** bootstrap: K = 1 and decisions provisional, until enough verifiers have stayed active. */
  mode: 'bootstrap' | 'quorum'
  k: number
  /** Verifiers counted active (nodes whose live offer carries the verify tag). */
  active: number
  /** ISO time since which the count has held at the threshold (bootstrap mode), else null. */
  stableSince: string | null
  provisional: boolean
  backend: 'quorum' | 'etcd'
  verifies: string[]
  /** Threads with a decision booked on this node. */
  threads: number
}
