/** Constants of invites: the one-line format and its limits. */

/** What every invite starts with: the scheme and the format version. */
export const INVITE_PREFIX = 'agora-invite:1:'

/** Signatures cover this domain, a NUL byte, then the canonical JSON of the body: an invite's signature verifies as nothing else. */
export const INVITE_SIGNING_DOMAIN = 'agora:invite:1'

/** Longest invite read (characters): junk is refused before any decoding. */
export const MAX_INVITE_CHARS = 8192

/** Most addresses one invite carries. */
export const MAX_INVITE_ADDRESSES = 16

/** How long an invite lasts unless asked otherwise. */
export const DEFAULT_INVITE_TTL_MS = 24 * 60 * 60 * 1000

/** Shortest and longest lifetime an invite may be given. */
export const MIN_INVITE_TTL_MS = 60 * 1000
export const MAX_INVITE_TTL_MS = 30 * 24 * 60 * 60 * 1000

/** Where `agora join` writes a private network's swarm key, inside the data dir. */
export const JOINED_SWARM_KEY_FILE = 'swarm.key'

/** What `doctor`, the start banner and `agora bootstrap` say when network.bootstrap is empty. */
export const NO_BOOTSTRAP_PEERS = 'no bootstrap peers — join with an invite (`agora join <invite>`), or find LAN peers by mDNS'
