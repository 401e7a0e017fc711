/**
 * Fixed values of installs: how blocks are asked for, how long a provider
 * may take, where the package store lives under the data dir.
 */

export const INSTALL_DEFAULTS = {
  /** CIDs in one /agora/blocks/1 request (1 MiB blocks: about 16 MiB an answer). */
  batchBlocks: 16,
  /** Requests in flight to one provider at once (keeps its pipe full while we hash and write; under BLOCKS_PROTOCOL.maxStreams). */
  requestsPerProvider: 4,
  /** Longest gap between two blocks of an answer before the provider counts as stalled (its blocks go to the others). */
  blockTimeoutMs: 10_000,
  /** How long to look for providers on the DHT before fetching from those already known. */
  findProvidersMs: 2_000,
  /** Most providers taken from the DHT. */
  maxDhtProviders: 16,
  /** Dialing one provider. */
  dialTimeoutMs: 5_000,
  /** Blocks no /agora/blocks/1 provider had: how long bitswap may take for each. */
  bitswapBlockTimeoutMs: 30_000,
  /** Blocks fetched over bitswap at once. */
  bitswapConcurrency: 16,
  /** Fetched blocks kept in memory for the file writer, which writes while the fetch goes on (past this it reads them back from the blockstore). */
  writeAheadBytes: 64 * 1024 * 1024,
  /** Blocks of a file the writer reads ahead of the one it writes (bounds what it holds while one block is late). */
  writeReadAheadBlocks: 16,
  /** A manifest CID this node does not know: how long to look for its block. */
  manifestFetchMs: 10_000,
  /** An install that failed or was cancelled is resumable this long; then `gc` removes it and its blocks. */
  interruptedKeepMs: 60 * 60_000
} as const

/** The package store: `<dataDir>/packages/<publisher>/<name>/<version>/`. */
export const PACKAGE_STORE_DIR = 'packages'
