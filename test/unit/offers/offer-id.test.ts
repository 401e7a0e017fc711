/** Offer ids are typed on the command line (`agora market request <offerId>`): never starting with '-'. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity } from '../../../src/identity/index.ts'
import { newCliSafeId } from '../../../src/ids.ts'
import { LOCAL_OFFER_KV_KEY } from '../../../src/offers/constants.ts'
import { LocalOfferState } from '../../../src/offers/local-offer.ts'
import { offerIdSchema } from '../../../src/offers/schema.ts'

function kvWith (stored: unknown): { get: <T>(key: string) => T | undefined, set: (key: string, value: unknown) => void, saved: Map<string, unknown> } {
  const saved = new Map<string, unknown>(stored === undefined ? [] : [[LOCAL_OFFER_KV_KEY, stored]])
  return { get: <T>(key: string) => saved.get(key) as T | undefined, set: (key: string, value: unknown) => { saved.set(key, value) }, saved }
}

test('new ids never start with "-" and are what the offer schema accepts', () => {
  for (let i = 0; i < 5000; i++) {
    const id = newCliSafeId()
    assert.ok(!id.startsWith('-'), id)
    assert.ok(offerIdSchema.safeParse(id).success, id)
  }
})

test('a stored offer id is kept; one starting with "-" (stored before) is replaced and persisted', async () => {
  const identity = await generateIdentity()
  const init = { ttlMs: 60_000, maxSkewMs: 1000 } as never
  const good = kvWith({ offerId: 'AbCdEfGh12345678', lamport: 3 })
  assert.equal(new LocalOfferState({ identity, kv: good }, init).offerId, 'AbCdEfGh12345678')
  const dashed = kvWith({ offerId: '-S7nACOfcDsLgbkVB2ATWA', lamport: 3 })
  const replaced = new LocalOfferState({ identity, kv: dashed }, init).offerId
  assert.ok(!replaced.startsWith('-') && replaced !== '-S7nACOfcDsLgbkVB2ATWA')
  assert.equal((dashed.saved.get(LOCAL_OFFER_KV_KEY) as { offerId: string }).offerId, replaced, 'persisted')
})
