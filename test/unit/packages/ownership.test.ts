/** Who may publish a name (src/packages/ownership.ts): first key, owner lists, immutable versions, convergence. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decideOwnership, type OwnershipState } from '../../../src/packages/ownership.ts'
import { isCode } from '../../harness/checks.ts'

const NAME = 'acme/prompts'

function state (owners: string[] = [], heldCid?: string, previousHeld = false): OwnershipState {
  return { owners, heldCid, previousHeld }
}

describe('package ownership', () => {
  test('the first key to publish a fresh name owns it', () => {
    assert.deepEqual(decideOwnership(state(), { name: NAME, version: '1.0.0' }, 'cid-a', 'alice'), { status: 'accept', owners: ['alice'], changed: true })
  })

  test('a first manifest carrying owners hands the name to those keys', () => {
    assert.deepEqual(decideOwnership(state(), { name: NAME, version: '1.0.0', owners: ['bob', 'alice', 'bob'] }, 'cid-a', 'alice'), { status: 'accept', owners: ['alice', 'bob'], changed: true })
  })

  test('an owner publishes again; the owner set is unchanged', () => {
    assert.deepEqual(decideOwnership(state(['alice']), { name: NAME, version: '1.1.0' }, 'cid-b', 'alice'), { status: 'accept', owners: ['alice'], changed: false })
  })

  test('another key is refused: name claimed by another key (E1410)', () => {
    assert.throws(() => decideOwnership(state(['alice']), { name: NAME, version: '9.0.0' }, 'cid-x', 'mallory'), isCode('E1410'))
    // even with an owners list naming itself
    assert.throws(() => decideOwnership(state(['alice']), { name: NAME, version: '9.0.0', owners: ['mallory'] }, 'cid-x', 'mallory'), isCode('E1410'))
  })

  test('a published version never changes (E1411); the same CID again is a duplicate', () => {
    assert.throws(() => decideOwnership(state(['alice'], 'cid-a'), { name: NAME, version: '1.0.0' }, 'cid-other', 'alice'), isCode('E1411'))
    assert.deepEqual(decideOwnership(state(['alice'], 'cid-a'), { name: NAME, version: '1.0.0' }, 'cid-a', 'alice'), { status: 'duplicate' })
  })

  test('a version naming a previous one waits until that one is held (E1415): a later version never claims a fresh name', () => {
    assert.throws(() => decideOwnership(state(), { name: NAME, version: '1.1.0', previous: 'cid-a' }, 'cid-b', 'bob'), isCode('E1415'))
    assert.throws(() => decideOwnership(state(['bob']), { name: NAME, version: '1.1.0', previous: 'cid-a' }, 'cid-b', 'bob'), isCode('E1415'))
    assert.equal(decideOwnership(state(['bob'], undefined, true), { name: NAME, version: '1.1.0', previous: 'cid-a' }, 'cid-b', 'bob').status, 'accept')
  })

  test('key rotation: an owner names a new key; the old one is refused from then on, the new one accepted', () => {
    const rotate = decideOwnership(state(['alice']), { name: NAME, version: '2.0.0', owners: ['alice2'] }, 'cid-r', 'alice')
    assert.deepEqual(rotate, { status: 'accept', owners: ['alice2'], changed: true })
    assert.throws(() => decideOwnership(state(['alice2']), { name: NAME, version: '2.0.1' }, 'cid-s', 'alice'), isCode('E1410'))
    assert.equal(decideOwnership(state(['alice2']), { name: NAME, version: '2.0.1' }, 'cid-s', 'alice2').status, 'accept')
  })

  // A causal history: each manifest signed by an owner at its place in the chain, some changing the owners.
  // Whatever order gossip delivers it in, re-offering the refused ones (anti-entropy) ends with the same
  // catalogue and owners on every node.
  test('any arrival order of a valid history converges to the same owners once anti-entropy re-offers the refused', () => {
    const keys = ['k0', 'k1', 'k2', 'k3']
    const history = fc.array(fc.record({ signerPick: fc.nat(), owners: fc.option(fc.subarray(keys, { minLength: 1 }), { nil: undefined }) }), { minLength: 1, maxLength: 12 })
      .map(steps => {
        let owners = ['k0']
        return steps.map((step, i) => {
          const signer = owners[step.signerPick % owners.length] as string
          if (step.owners !== undefined) owners = [...step.owners].sort()
          return { cid: `cid-${i}`, version: `1.0.${i}`, signer, owners: step.owners, previous: i === 0 ? undefined : `cid-${i - 1}`, finalOwners: owners }
        })
      })
    fc.assert(fc.property(history.chain(h => fc.tuple(fc.constant(h), fc.shuffledSubarray(h, { minLength: h.length, maxLength: h.length }))), ([chain, order]) => {
      let current: string[] = []
      const held = new Map<string, string>()
      let pending = [...order]
      // rounds of anti-entropy: offer everything still lacking until nothing more is taken
      for (let progress = true; progress;) {
        progress = false
        const refused: typeof pending = []
        for (const m of pending) {
          try {
            const d = decideOwnership({ owners: current, heldCid: held.get(m.version), previousHeld: m.previous !== undefined && [...held.values()].includes(m.previous) }, { name: NAME, version: m.version, owners: m.owners, previous: m.previous }, m.cid, m.signer)
            if (d.status === 'accept') { current = d.owners; held.set(m.version, m.cid); progress = true }
          } catch { refused.push(m) }
        }
        pending = refused
      }
      assert.equal(pending.length, 0, 'every manifest of a valid chain is taken in the end')
      assert.deepEqual(current, (chain[chain.length - 1] as { finalOwners: string[] }).finalOwners)
    }), { numRuns: 300 })
  })
})
