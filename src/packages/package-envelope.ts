/**
 * PACKAGE envelopes: a manifest signed by its publisher. The payload carries
 * the manifest's DAG-CBOR bytes (base64url) and their CID, so any node can
 * check that the bytes are the ones named, and that the publisher signed them.
 *
 * `openPackage` checks, in order: envelope shape (E1400) → kind (E1401) →
 * payload shape (E1404) → manifest size (E1403) → signature (E1402) → CID
 * is the hash of the bytes (E1405) → manifest schema and canonical form
 * (E1406) → manifest.publisher is the signer (E1407).
 *
 * No age or replay check: a PACKAGE envelope is re-served by anti-entropy for
 * months, and accepting it twice changes nothing (the catalogue is keyed by CID).
 */
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { z } from 'zod'
import { AgoraError, messageOf } from '../errors.ts'
import { parseEnvelope, signEnvelope, verifySignatureOnly, type Envelope, type NodeIdentity } from '../identity/index.ts'
import { DAG_CBOR_CODE, decodeManifest, encodeManifest, type Manifest } from './manifest.ts'
import type { PackagePayload } from './types.ts'

export interface OpenedPackage {
  envelope: Envelope
  manifest: Manifest
  cid: CID
  bytes: Uint8Array
}

export interface OpenPackageLimits {
  /** Largest manifest accepted, in DAG-CBOR bytes (config packages.maxManifestBytes). */
  maxManifestBytes: number
}

const payloadSchema = z.object({
  cid: z.string().min(1).max(128),
  manifest: z.string().regex(/^[A-Za-z0-9_-]*$/, 'base64url without padding')
}).strict()

/** Encode and sign `manifest` with `identity` (which must be its publisher). */
export async function signPackage (identity: NodeIdentity, manifest: Manifest): Promise<{ envelope: Envelope, cid: CID, bytes: Uint8Array }> {
  if (manifest.publisher !== identity.peerIdString) {
    throw new AgoraError('E1407', 'a manifest is signed by its publisher', {
      why: `manifest.publisher is ${manifest.publisher}, the signing key is ${identity.peerIdString}`
    })
  }
  const { cid, bytes } = await encodeManifest(manifest)
  const payload: PackagePayload = { cid: cid.toString(), manifest: Buffer.from(bytes).toString('base64url') }
  return { envelope: signEnvelope(identity, { kind: 'PACKAGE', payload: { ...payload } }), cid, bytes }
}

/** Verify a PACKAGE envelope from anywhere (gossip, sync, a CAR, the API); see the module comment. */
export async function openPackage (envelope: unknown, limits: OpenPackageLimits): Promise<OpenedPackage> {
  const checked = shapeOf(envelope)
  if (checked.kind !== 'PACKAGE') {
    throw new AgoraError('E1401', `a ${checked.kind} envelope is not a package`, { details: { kind: checked.kind } })
  }
  const payload = payloadSchema.safeParse(checked.payload)
  if (!payload.success) {
    throw new AgoraError('E1404', 'malformed PACKAGE payload', { why: firstIssue(payload.error), details: { from: checked.from } })
  }
  // base64url: 4 characters per 3 bytes; refuse before decoding anything big
  const size = Math.floor(payload.data.manifest.length * 3 / 4)
  if (size > limits.maxManifestBytes) {
    throw new AgoraError('E1403', 'manifest too large', {
      why: `${size} bytes, the limit is ${limits.maxManifestBytes}`,
      details: { size, maxManifestBytes: limits.maxManifestBytes }
    })
  }
  try {
    verifySignatureOnly(checked)
  } catch (err) {
    throw new AgoraError('E1402', 'bad signature on a PACKAGE envelope', { why: `it does not verify with the key of ${checked.from}`, cause: err, details: { from: checked.from } })
  }
  const cid = parseCid(payload.data.cid)
  const bytes = new Uint8Array(Buffer.from(payload.data.manifest, 'base64url'))
  await assertHashes(cid, bytes)
  const manifest = await manifestOf(bytes, cid)
  if (manifest.publisher !== checked.from) {
    throw new AgoraError('E1407', `manifest of ${manifest.name}@${manifest.version} not signed by its publisher`, {
      why: `manifest.publisher is ${manifest.publisher}, the envelope is signed by ${checked.from}`,
      details: { publisher: manifest.publisher, from: checked.from }
    })
  }
  return { envelope: checked, manifest, cid, bytes }
}

function shapeOf (envelope: unknown): Envelope {
  try {
    return parseEnvelope(envelope)
  } catch (err) {
    throw new AgoraError('E1400', 'not a signed envelope', { why: messageOf(err), cause: err })
  }
}

function parseCid (value: string): CID {
  try {
    return CID.parse(value)
  } catch (err) {
    throw new AgoraError('E1404', 'malformed PACKAGE payload', { why: `cid is not a CID: ${messageOf(err)}`, cause: err })
  }
}

async function assertHashes (cid: CID, bytes: Uint8Array): Promise<void> {
  const digest = await sha256.digest(bytes)
  const same = cid.code === DAG_CBOR_CODE && cid.multihash.code === sha256.code && Buffer.from(digest.bytes).equals(cid.multihash.bytes)
  if (!same) {
    throw new AgoraError('E1405', 'tampered manifest', {
      why: `its bytes do not hash to ${cid.toString()} (a dag-cbor sha2-256 CID)`,
      details: { cid: cid.toString() }
    })
  }
}

/** Decode and check the schema, then require the canonical form: re-encoding gives the same CID. */
async function manifestOf (bytes: Uint8Array, cid: CID): Promise<Manifest> {
  let manifest: Manifest
  try {
    manifest = await decodeManifest(bytes)
  } catch (err) {
    const why = err instanceof z.ZodError ? firstIssue(err) : messageOf(err)
    throw new AgoraError('E1406', 'malformed manifest', { why, cause: err, details: { cid: cid.toString() } })
  }
  const named = cid.toString()
  if ((await encodeManifest(manifest)).cid.toString() !== named) {
    throw new AgoraError('E1406', 'malformed manifest', { why: 'not in canonical form (a field left to its default, or an unknown encoding)', details: { cid: named } })
  }
  return manifest
}

function firstIssue (error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'invalid'
  return `${issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.')}: ${issue.message}`
}
