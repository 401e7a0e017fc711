/** The store room's door: the database and one repository per table. */
import { Database } from './db.ts'
import { KvRepository } from './kv-repository.ts'
import { PeersRepository } from './peers-repository.ts'
import { ReplayRepository } from './replay-repository.ts'

export { Database } from './db.ts'
export type { StoreInit } from './db.ts'
export { KvRepository } from './kv-repository.ts'
export { PeersRepository } from './peers-repository.ts'
export type { PeerRecord, PeerOutcome } from './peers-repository.ts'
export { ReplayRepository } from './replay-repository.ts'

export interface Store {
  readonly db: Database
  readonly kv: KvRepository
  readonly peers: PeersRepository
  readonly replay: ReplayRepository
  close(): void
}

export function openStore (path: string): Store {
  const db = new Database({ path })
  return {
    db,
    kv: new KvRepository(db),
    peers: new PeersRepository(db),
    replay: new ReplayRepository(db),
    close: () => db.close()
  }
}
