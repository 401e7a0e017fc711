/** Each bad input gets its own error code, and the blame lands on the right peer. */
import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { encodeEnvelope, signEnvelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { OfferTable } from '../../../src/offers/table.ts'
import { OfferValidator, type IncomingOffer, type Verdict } from '../../../src/offers/validator.ts'
import { identities, NOW, offerFor, signedOfferRaw, signedWithdrawRaw, TTL } from './fixtures.ts'

let origin: NodeIdentity, other: NodeIdentity
const SKEW = 30_000

before(async () => { [origin, other] = await identities(2) as [NodeIdentity, NodeIdentity] })

function setup (init: { perOriginPerMinute?: number, maxOfferBytes?: number } = {}): { table: OfferTable, check: (input: Partial<IncomingOffer> & { data: IncomingOffer['data'] }, banned?: string[]) => Verdict, clock: { now: number } } {
  const clock = { now: NOW }
  const table = new OfferTable({ maxEntries: 100 })
  const validator = new OfferValidator({ table }, {
    maxOfferBytes: init.maxOfferBytes ?? 64 * 1024, ttlMs: TTL, maxSkewMs: SKEW, perOriginPerMinute: init.perOriginPerMinute ?? 30, now: () => clock.now
  })
  const check = (input: Partial<IncomingOffer> & { data: IncomingOffer['data'] }, banned: string[] = []): Verdict =>
    validator.check({ via: 'gossip', peer: 'relay-peer', ...input }, peer => banned.includes(peer))
  return { table, check, clock }
}

function rejected (verdict: Verdict): { code: string, reason: string, blame: string | undefined } {
  assert.equal(verdict.status, 'rejected', `expected a rejection, got ${verdict.status}`)
  if (verdict.status !== 'rejected') throw new Error('unreachable')
  return { code: verdict.error.code, reason: verdict.reason, blame: verdict.blame }
}

describe('offers: validator', () => {
  test('a valid offer and a valid withdrawal pass, from gossip bytes or sync text', () => {
    const { table, check } = setup()
    const raw = signedOfferRaw(origin, offerFor(origin.peerIdString, { lamport: 1 }))
    const verdict = check({ data: new TextEncoder().encode(raw), author: origin.peerIdString })
    assert.equal(verdict.status, 'ok')
    if (verdict.status !== 'ok') return
    assert.equal(verdict.entry.raw, raw)
    assert.equal(verdict.entry.offer?.node, origin.peerIdString)
    table.apply(verdict.entry, NOW)
    const withdrawal = check({ data: signedWithdrawRaw(origin, { offerId: 'abcdefgh', lamport: 2 }), via: 'sync' })
    assert.equal(withdrawal.status, 'ok')
    if (withdrawal.status === 'ok') assert.equal(withdrawal.entry.expiresAt, NOW + TTL + SKEW)
  })

  test('forged: signed by another key than the one it names → E802', () => {
    const { check } = setup()
    const envelope = signEnvelope(other, { kind: 'OFFER', payload: offerFor(origin.peerIdString) }, NOW)
    const forged = { ...envelope, from: origin.peerIdString }
    assert.deepEqual(rejected(check({ data: encodeEnvelope(forged), via: 'sync', peer: 'p' })), { code: 'E802', reason: 'signature', blame: 'p' })
  })

  test('claims another node\'s id: payload node ≠ signer, or gossip author ≠ origin → E803', () => {
    const { check } = setup()
    const claim = signedOfferRaw(other, offerFor(origin.peerIdString))
    assert.equal(rejected(check({ data: claim })).code, 'E803')
    const relayed = signedOfferRaw(origin, offerFor(origin.peerIdString))
    assert.equal(rejected(check({ data: relayed, author: other.peerIdString })).code, 'E803')
  })

  test('replayed old offer (lower Lamport) → E806; the same Lamport again is a quiet duplicate', () => {
    const { table, check } = setup()
    const v5 = check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString, { lamport: 5 })) })
    assert.equal(v5.status, 'ok')
    if (v5.status === 'ok') table.apply(v5.entry, NOW)
    assert.deepEqual(rejected(check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString, { lamport: 4 })) })), { code: 'E806', reason: 'stale', blame: 'relay-peer' })
    assert.equal(check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString, { lamport: 5 })) }).status, 'duplicate')
    // in a sync page an older copy is a race, not the responder's fault
    assert.equal(rejected(check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString, { lamport: 4 })), via: 'sync' })).blame, undefined)
  })

  test('expired → E804 (blamed only when expired by more than the skew); expiry beyond ttl + skew or a future timestamp → E805', () => {
    const { check, clock } = setup()
    const raw = signedOfferRaw(origin, offerFor(origin.peerIdString, { expiresAt: NOW + 1000 }))
    clock.now = NOW + 1000
    assert.deepEqual(rejected(check({ data: raw })), { code: 'E804', reason: 'expired', blame: undefined })
    // docs/offers.md: counted against the peer "only when expired by more than the clock skew"
    clock.now = NOW + 1000 + SKEW
    assert.deepEqual(rejected(check({ data: raw })), { code: 'E804', reason: 'expired', blame: undefined })
    clock.now = NOW + 1000 + SKEW + 1
    assert.equal(rejected(check({ data: raw })).blame, 'relay-peer')
    clock.now = NOW
    assert.equal(rejected(check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString, { expiresAt: NOW + TTL + SKEW + 1 })) })).code, 'E805')
    assert.equal(rejected(check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString), NOW + SKEW + 1) })).code, 'E805')
    const oldWithdrawal = signedWithdrawRaw(origin, { offerId: 'abcdefgh', lamport: 9 }, NOW - TTL - SKEW)
    assert.equal(rejected(check({ data: oldWithdrawal })).code, 'E804')
  })

  test('oversized → E801 before any parsing; malformed JSON, envelope, payload or kind → E800', () => {
    const { check } = setup({ maxOfferBytes: 2048 })
    const big = signedOfferRaw(origin, offerFor(origin.peerIdString, { tags: Array.from({ length: 40 }, (_, i) => `tag-${i}-${'x'.repeat(60)}`) }))
    assert.equal(rejected(check({ data: big })).code, 'E801')
    assert.equal(rejected(check({ data: new Uint8Array([0xff, 0xfe]) })).code, 'E800')
    assert.equal(rejected(check({ data: '{"v":1}' })).code, 'E800')
    assert.equal(rejected(check({ data: signedOfferRaw(origin, { ...offerFor(origin.peerIdString), lamport: -1 }) })).code, 'E800')
    const need = new TextDecoder().decode(encodeEnvelope(signEnvelope(origin, { kind: 'NEED', payload: {} }, NOW)))
    assert.equal(rejected(check({ data: need })).code, 'E800')
  })

  test('a flood from one origin is rate-limited (E807), blamed on the origin, and the bucket refills', () => {
    const { table, check, clock } = setup({ perOriginPerMinute: 60 })
    const codes: string[] = []
    for (let lamport = 1; lamport <= 40; lamport++) {
      const verdict = check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString, { lamport })), peer: 'forwarder' })
      if (verdict.status === 'ok') table.apply(verdict.entry, clock.now)
      else if (verdict.status === 'rejected') {
        codes.push(verdict.error.code)
        assert.equal(verdict.blame, origin.peerIdString)
      }
    }
    // burst of ten seconds' worth (10) then refused
    assert.equal(codes.length, 30)
    assert.ok(codes.every(c => c === 'E807'))
    clock.now += 2000
    assert.equal(check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString, { lamport: 41 })) }).status, 'ok')
  })

  test('a banned sender is dropped before any work (E808, no blame)', () => {
    const { check } = setup()
    assert.deepEqual(rejected(check({ data: 'not even json', peer: 'bad' }, ['bad'])), { code: 'E808', reason: 'banned', blame: undefined })
  })

  test('on gossip (author authenticated) the limit comes before the signature; in a sync page forgeries cannot spend an origin\'s budget', async () => {
    const { check } = setup({ perOriginPerMinute: 6 }) // burst of 2
    const forged = (lamport: number): string => {
      const envelope = signEnvelope(other, { kind: 'OFFER', payload: offerFor(origin.peerIdString, { lamport }) }, NOW)
      return new TextDecoder().decode(encodeEnvelope({ ...envelope, from: origin.peerIdString }))
    }
    // sync: three forgeries are refused on their signature, and the origin still has its two tokens
    for (const lamport of [1, 2, 3]) assert.equal(rejected(check({ data: forged(lamport), via: 'sync' })).code, 'E802')
    assert.equal(check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString, { lamport: 1 })), via: 'sync' }).status, 'ok')
    assert.equal(check({ data: signedOfferRaw(origin, offerFor(origin.peerIdString, { lamport: 2 })), via: 'sync' }).status, 'ok')
    // gossip from the authenticated origin itself: over the limit before any signature work
    assert.equal(rejected(check({ data: forged(3), author: origin.peerIdString })).code, 'E807')
  })
})
