/** Constants of the identity room: file names, key encodings, envelope defaults. */

/** The node key, inside the data dir. */
export const IDENTITY_KEY_FILE = 'identity.key'

/** Mode of the key file: owner read/write only. */
export const KEY_FILE_MODE = 0o600

/** Mode of a data dir we create: owner only. */
export const DATA_DIR_MODE = 0o700

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32-byte raw key follows. */
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** DER prefix of an Ed25519 PKCS#8 private key; the 32-byte seed follows. */
export const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** Multicodec `ed25519-pub` (0xed) as an unsigned varint. */
export const ED25519_PUB_MULTICODEC = Uint8Array.of(0xed, 0x01)

export const DID_KEY_PREFIX = 'did:key:'

/** Bytes in an Ed25519 public key, seed and signature. */
export const ED25519_KEY_BYTES = 32
export const ED25519_SIG_BYTES = 64

/** How many verification keys `peerIdToPublicKey` keeps. */
export const PUBLIC_KEY_CACHE_SIZE = 10_000

/** Envelope format version. */
export const ENVELOPE_VERSION = 1

/** Random bytes in an envelope nonce. */
export const NONCE_BYTES = 16

/** Domain prefix of the signed bytes: `agora:v1:<kind>` then a 0x00 byte. */
export const SIGNING_DOMAIN = 'agora:v1:'

/** Verifier defaults; they match `envelopeSchema` in src/config/schema.ts. */
export const DEFAULT_MAX_ENVELOPE_BYTES = 256 * 1024
/** Oldest envelope accepted (longer than the 2-minute gossip dedup window plus skew). */
export const DEFAULT_MAX_AGE_MS = 5 * 60 * 1000
/** How far in the future a timestamp may be. */
export const DEFAULT_MAX_SKEW_MS = 30 * 1000
