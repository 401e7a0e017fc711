/**
 * The invites room's door: signed one-line invites (minted by the running
 * node, read by `agora join`), bootstrap addresses, and the config edits
 * that put an invite's peers and swarm key in the config file.
 */
export { signInvite, readInvite, inviteBodySchema } from './codec.ts'
export type { Invite, SignInviteInit } from './codec.ts'
export { InviteMinter, inviteAddresses } from './minter.ts'
export type { InviteMinterComponents, InviteMinterInit, MintInviteRequest, MintedInvite } from './minter.ts'
export { bootstrapAddressProblem, parseBootstrapAddress, peerIdOf, isLoopbackAddress } from './bootstrap-address.ts'
export type { BootstrapAddress } from './bootstrap-address.ts'
export { configFileToEdit, fileConfig, addBootstrapPeers, removeBootstrapPeer, joinSwarmKey } from './bootstrap-list.ts'
export type { BootstrapAddResult, BootstrapRemoveResult, SwarmKeyJoinResult } from './bootstrap-list.ts'
export { INVITE_PREFIX, DEFAULT_INVITE_TTL_MS, MIN_INVITE_TTL_MS, MAX_INVITE_TTL_MS, JOINED_SWARM_KEY_FILE, NO_BOOTSTRAP_PEERS } from './constants.ts'
