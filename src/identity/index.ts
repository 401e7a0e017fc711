/** The identity room's door: the node key, did:key, and signed envelopes. */
export {
  loadOrCreateIdentity, readIdentity, generateIdentity, exportIdentityPem, importIdentityPem, identityFromPem, identityKeyPath
} from './keys.ts'
export type { NodeIdentity, ImportIdentityOptions } from './keys.ts'
export { didKeyFromPublicKey, publicKeyFromDidKey, didKeyFromPeerId } from './did-key.ts'
export { peerIdToPublicKey, publicKeyObjectFromRaw } from './public-keys.ts'
export {
  ENVELOPE_KINDS, envelopeSchema, encodeEnvelope, decodeEnvelope, parseEnvelope, signingBytes
} from './envelope-codec.ts'
export type { Envelope, EnvelopeKind, UnsignedEnvelope } from './envelope-codec.ts'
export { signEnvelope, verifySignatureOnly, EnvelopeVerifier } from './envelope.ts'
export type {
  SignEnvelopeInit, ReplayGuard, EnvelopeVerifierComponents, EnvelopeVerifierInit, VerifyOptions, EnvelopeVerifierStats
} from './envelope.ts'
export {
  IDENTITY_KEY_FILE, DEFAULT_MAX_ENVELOPE_BYTES, DEFAULT_MAX_AGE_MS, DEFAULT_MAX_SKEW_MS
} from './constants.ts'
