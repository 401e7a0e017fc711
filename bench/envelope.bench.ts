/**
 * Envelope verification throughput on one core.
 *
 * N envelopes with small payloads from a few signers are signed up front; then
 * each round measures (1) the full pipeline `EnvelopeVerifier.decodeAndVerify`
 * (size, JSON, schema, canonical signing bytes, signature, replay insert into
 * an in-memory SQLite store), (2) the bare node:crypto signature check with
 * cached KeyObjects, and (3) `@noble/ed25519` (pure JS, the baseline) on the
 * same signing bytes. Rates are medians over ROUNDS rounds after a warm-up.
 */
import { createHash, verify as cryptoVerify } from 'node:crypto'
import * as ed from '@noble/ed25519'
import { median, report, round } from './lib.ts'
import {
  EnvelopeVerifier, encodeEnvelope, generateIdentity, peerIdToPublicKey, signEnvelope, signingBytes,
  type Envelope, type EnvelopeKind
} from '../src/identity/index.ts'
import { openStore } from '../src/store/index.ts'

const N = Number(process.env.BENCH_ENVELOPES ?? 20_000)
/** noble is ~15x slower: it verifies a prefix of the same messages. */
const NOBLE_N = Math.min(N, Number(process.env.BENCH_NOBLE ?? 1_500))
const ROUNDS = 5
const SIGNERS = 16
const KINDS: EnvelopeKind[] = ['OFFER', 'NEED', 'REQUEST', 'ATTEST', 'RECEIPT']

ed.hashes.sha512 = (message: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(createHash('sha512').update(message).digest())

interface Sample {
  envelope: Envelope
  wire: Uint8Array
  data: Uint8Array
  sig: Uint8Array
  publicKeyRaw: Uint8Array
}

async function prepare (): Promise<{ samples: Sample[], signedAt: number }> {
  const signers = await Promise.all(Array.from({ length: SIGNERS }, async () => await generateIdentity()))
  const signedAt = Date.now()
  const samples: Sample[] = []
  for (let i = 0; i < N; i++) {
    const signer = signers[i % SIGNERS]
    if (signer === undefined) throw new Error('no signer')
    const envelope = signEnvelope(signer, {
      kind: KINDS[i % KINDS.length] ?? 'OFFER',
      payload: { id: i, model: 'llama3.2:3b', slots: 4, price: { perTask: '0.010000', per1kTokens: '0.002000' }, tags: ['chat', 'en'] }
    }, signedAt)
    const { sig, ...unsigned } = envelope
    samples.push({ envelope, wire: encodeEnvelope(envelope), data: signingBytes(unsigned), sig: Buffer.from(sig, 'base64url'), publicKeyRaw: signer.publicKeyRaw })
  }
  return { samples, signedAt }
}

/** decodeAndVerify over every sample, with a fresh in-memory replay store. */
function fullPipeline (samples: Sample[], now: number): number {
  const store = openStore(':memory:')
  try {
    const verifier = new EnvelopeVerifier({ replay: store.replay })
    const start = performance.now()
    for (const sample of samples) verifier.decodeAndVerify(sample.wire, { now })
    const ms = performance.now() - start
    if (verifier.stats().accepted !== samples.length) throw new Error('full pipeline rejected a valid envelope')
    return samples.length / (ms / 1000)
  } finally {
    store.close()
  }
}

function nodeSignatures (samples: Sample[]): number {
  let ok = 0
  const start = performance.now()
  for (const sample of samples) {
    if (cryptoVerify(null, sample.data, peerIdToPublicKey(sample.envelope.from), sample.sig)) ok++
  }
  const ms = performance.now() - start
  if (ok !== samples.length) throw new Error('node:crypto rejected a valid signature')
  return samples.length / (ms / 1000)
}

function nobleSignatures (samples: Sample[]): number {
  let ok = 0
  const start = performance.now()
  for (const sample of samples) {
    if (ed.verify(sample.sig, sample.data, sample.publicKeyRaw)) ok++
  }
  const ms = performance.now() - start
  if (ok !== samples.length) throw new Error('@noble/ed25519 rejected a valid signature')
  return samples.length / (ms / 1000)
}

const { samples, signedAt } = await prepare()
const nobleSamples = samples.slice(0, NOBLE_N)

// warm-up: JIT, the KeyObject cache, SQLite statements
fullPipeline(samples.slice(0, 2000), signedAt)
nodeSignatures(samples.slice(0, 2000))
nobleSignatures(samples.slice(0, 50))

const full: number[] = []
const node: number[] = []
const noble: number[] = []
for (let r = 0; r < ROUNDS; r++) {
  full.push(fullPipeline(samples, signedAt))
  node.push(nodeSignatures(samples))
  noble.push(nobleSignatures(nobleSamples))
}

const fullRate = median(full)
const nodeRate = median(node)
const nobleRate = median(noble)
const ratio = nodeRate / nobleRate
const pipelineShare = fullRate / nodeRate
const spread = (xs: number[]): string => `rounds ${xs.map(x => Math.round(x)).join(' / ')}`
const wireBytes = median(samples.map(s => s.wire.byteLength))

report('envelope', [
  { metric: 'envelope verify (node:crypto, full pipeline)', value: fullRate, unit: 'msg/s', target: '>= 12000', pass: fullRate >= 12_000, detail: `${N} msgs, ~${wireBytes} B each; ${spread(full)}` },
  { metric: 'signature verify node:crypto', value: nodeRate, unit: 'sig/s', target: 'baseline', pass: true, detail: `${N} sigs, cached KeyObjects; ${spread(node)}` },
  { metric: 'signature verify @noble/ed25519', value: nobleRate, unit: 'sig/s', target: 'baseline', pass: true, detail: `${NOBLE_N} sigs; ${spread(noble)}` },
  { metric: 'ratio node:crypto / noble', value: ratio, unit: 'x', target: '>= 10', pass: ratio >= 10 },
  // machine-independent: what decode, schema, canonical bytes and the replay insert cost on top of the bare verify
  { metric: 'ratio full pipeline / bare node:crypto verify', value: pipelineShare, unit: 'x', target: '>= 0.8', pass: pipelineShare >= 0.8, detail: `pipeline overhead ${round(100 * (1 - pipelineShare), 0)}%` }
], { envelopes: N, nobleEnvelopes: NOBLE_N, rounds: ROUNDS, signers: SIGNERS, samples: { full, node, noble } })
