/**
 * Fixed values of the packages room: the UnixFS profile every file is
 * imported with, protocol ids and bitswap limits.
 */
import type { BitswapOptions } from '@helia/bitswap'
import type { ImporterOptions } from 'ipfs-unixfs-importer'

/**
 * IPIP-499's `unixfs-v1-2025`: CIDv1, sha2-256, 1 MiB chunks, raw leaves,
 * balanced layout of width 1024 — so the same bytes give the same CID as
 * other current IPFS tools.
 */
export const IMPORT_PROFILE: ImporterOptions = { profile: 'unixfs-v1-2025' }

/** Bitswap limits: a peer can hold only so many of our streams and send only so much. */
export const BITSWAP_DEFAULTS: BitswapOptions = {
  maxInboundStreams: 32,
  maxOutboundStreams: 64,
  maxIncomingMessageSize: 4 * 1024 * 1024
}
