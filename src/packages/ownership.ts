/**
 * Who may publish a name, and what a version may be.
 *
 * The rule (docs/packages.md, "Trust rules"):
 *  1. History first: a manifest naming a `previous` version is taken only
 *     once that version of the same name is held (E1415: refused now, not
 *     stored, offered again by anti-entropy until its history arrives). So
 *     every node applies one publisher's chain in the same order, whatever
 *     order gossip delivered it in.
 *  2. A name nobody holds is claimed by the first valid manifest this node
 *     accepts for it (necessarily a first version, without `previous`): its
 *     signer owns the name (or, when that manifest carries `owners`, those
 *     keys do).
 *  3. From then on only a current owner may publish the name (E1410). A
 *     manifest signed by a current owner that carries `owners` replaces the
 *     owner set: that is how a key is rotated or a co-publisher added.
 *  4. A version, once accepted, never changes: the same name@version under
 *     another manifest CID is refused (E1411); the same CID is a duplicate.
 *
 * Convergence. Owner changes are applied in the order this node accepts
 * manifests, and each must be signed by an owner at that moment. publish.ts
 * links every version to the highest earlier one it knows (`previous`), so
 * rule 1 makes every node take a name's history in the same causal order:
 * gossip arriving out of order (a new owner's version before the manifest
 * that made it an owner, or an old key's versions after its rotation) is
 * refused at first but not stored, and anti-entropy offers it again on
 * every round until what it follows has arrived; then all nodes hold the
 * same versions and the same owners (test/unit/packages/ownership.test.ts
 * checks this for every arrival order). Manifests without `previous` for a
 * held name (a publisher that lost its catalogue) are ordered by arrival.
 * A genuine conflict — two keys racing for a fresh name, two co-owners
 * removing each other at once — is settled first-seen-wins on each node and
 * never re-decided later. Deliberately not by `created` or by the lowest CID:
 * both are chosen by the signer, so a squatter who sees a new name announced
 * could backdate or grind a claim and take it everywhere. A node that sees
 * the losing claim refuses it with E1410 and counts it, so the split is visible.
 */
import { AgoraError } from '../errors.ts'
import type { Manifest } from './manifest.ts'

export interface OwnershipState {
  /** The keys that may publish the name now; empty for a name nobody holds. */
  owners: readonly string[]
  /** The manifest CID already held for this name@version, if any. */
  heldCid: string | undefined
  /** Whether the manifest's `previous` (when it names one) is held, as a version of the same name. */
  previousHeld: boolean
}

export type OwnershipDecision =
  | { status: 'duplicate' }
  /** `owners`: the owner set from now on (unchanged, claimed or replaced). */
  | { status: 'accept', owners: string[], changed: boolean }

/** Decide on one manifest signed by `signer`; throws E1410, E1411 or E1415. Pure: the caller reads and writes the state. */
export function decideOwnership (state: OwnershipState, manifest: Pick<Manifest, 'name' | 'version' | 'owners' | 'previous'>, cid: string, signer: string): OwnershipDecision {
  if (state.heldCid === cid) return { status: 'duplicate' }
  if (manifest.previous !== undefined && !state.previousHeld) {
    throw new AgoraError('E1415', `${manifest.name}@${manifest.version} follows a version not known here yet`, {
      why: `its previous version ${manifest.previous} has not arrived`,
      details: { name: manifest.name, version: manifest.version, previous: manifest.previous }
    })
  }
  if (state.owners.length > 0 && !state.owners.includes(signer)) {
    throw new AgoraError('E1410', `name ${manifest.name} claimed by another key`, {
      why: `${signer} is not among its owners (${state.owners.join(', ')})`,
      details: { name: manifest.name, signer, owners: [...state.owners] }
    })
  }
  if (state.heldCid !== undefined) {
    throw new AgoraError('E1411', `${manifest.name}@${manifest.version} is published already`, {
      why: `as ${state.heldCid}, not ${cid}`,
      details: { name: manifest.name, version: manifest.version, held: state.heldCid, cid }
    })
  }
  if (manifest.owners !== undefined) {
    const owners = [...new Set(manifest.owners)].sort()
    return { status: 'accept', owners, changed: !sameSet(owners, state.owners) }
  }
  if (state.owners.length === 0) return { status: 'accept', owners: [signer], changed: true }
  return { status: 'accept', owners: [...state.owners], changed: false }
}

function sameSet (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every(x => b.includes(x))
}
