/** Invites: signed by the node they name, refused when altered, forged, expired or garbage — each with its own code. */
import { test, describe, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import { readInvite, signInvite, InviteMinter, inviteAddresses, INVITE_PREFIX } from '../../../src/invites/index.ts'
import { throwsCode } from '../../harness/checks.ts'

/** The JSON body inside an invite, to alter it. */
function bodyOf (invite: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(invite.slice(INVITE_PREFIX.length), 'base64url').toString('utf8')) as Record<string, unknown>
}

function inviteOf (body: Record<string, unknown>): string {
  return INVITE_PREFIX + Buffer.from(JSON.stringify(body)).toString('base64url')
}

describe('invite codec', () => {
  let alice: NodeIdentity
  let mallory: NodeIdentity
  const now = 1_800_000_000_000
  const hour = 3_600_000
  const addrOf = (id: NodeIdentity, port = 41145): string => `/ip4/192.0.2.7/tcp/${port}/p2p/${id.peerIdString}`

  before(async () => {
    alice = await generateIdentity()
    mallory = await generateIdentity()
  })

  test('a signed invite reads back: peer, addresses, expiry and swarm key', () => {
    const psk = 'ab'.repeat(32)
    const invite = signInvite(alice, { addresses: [addrOf(alice), addrOf(alice, 41146)], expiresAt: now + hour, psk, now })
    assert.match(invite, /^agora-invite:1:[A-Za-z0-9_-]+$/, 'one line of base64url after the prefix')
    const read = readInvite(invite, now)
    assert.deepEqual(read, { peerId: alice.peerIdString, addresses: [addrOf(alice), addrOf(alice, 41146)], issuedAt: now, expiresAt: now + hour, psk })
    // surrounding whitespace from a copy-paste is fine
    assert.equal(readInvite(`  ${invite}\n`, now).peerId, alice.peerIdString)
    assert.equal(readInvite(signInvite(alice, { addresses: [addrOf(alice)], expiresAt: now + hour, now }), now).psk, undefined)
  })

  test('a tampered invite (another address, a later expiry) fails its signature: E1311', () => {
    const invite = signInvite(alice, { addresses: [addrOf(alice)], expiresAt: now + hour, now })
    const moved = { ...bodyOf(invite), addrs: [`/ip4/198.51.100.9/tcp/4001/p2p/${alice.peerIdString}`] }
    const err = throwsCode(() => readInvite(inviteOf(moved), now), 'E1311')
    assert.match(err.why ?? '', new RegExp(`not signed by ${alice.peerIdString}`))
    throwsCode(() => readInvite(inviteOf({ ...bodyOf(invite), exp: now + 100 * hour }), now), 'E1311')
  })

  test('an invite signed by another key than the peer it names is refused: E1311', () => {
    // mallory signs an invite that claims to be alice's: the key in alice's peer id does not verify it
    const forged = signInvite({ peerIdString: alice.peerIdString, sign: data => mallory.sign(data) }, { addresses: [addrOf(alice)], expiresAt: now + hour, now })
    throwsCode(() => readInvite(forged, now), 'E1311')
    // and mallory's own signature moved onto alice's name
    const own = bodyOf(signInvite(mallory, { addresses: [addrOf(mallory)], expiresAt: now + hour, now }))
    throwsCode(() => readInvite(inviteOf({ ...own, peer: alice.peerIdString, addrs: [addrOf(alice)] }), now), 'E1311')
  })

  test('an expired invite says when it expired: E1312', () => {
    const invite = signInvite(alice, { addresses: [addrOf(alice)], expiresAt: now - 2 * hour, now: now - 26 * hour })
    const err = throwsCode(() => readInvite(invite, now), 'E1312')
    assert.equal(err.what, `the invite expired at ${new Date(now - 2 * hour).toISOString()}`)
    assert.match(err.why ?? '', /^2 h 0 min ago/)
    // one millisecond before its expiry it is still good
    assert.equal(readInvite(invite, now - 2 * hour - 1).peerId, alice.peerIdString)
  })

  test('garbage is E1310 with what is wrong: no prefix, another version, bad base64, cut short, bad fields, foreign addresses, too long', () => {
    const invite = signInvite(alice, { addresses: [addrOf(alice)], expiresAt: now + hour, now })
    const cases: Array<[string, RegExp]> = [
      ['', /does not start with agora-invite:1:/],
      ['hello world', /does not start with agora-invite:1:/],
      [invite.replace('agora-invite:1:', 'agora-invite:2:'), /another format version/],
      [`${INVITE_PREFIX}not base64!`, /base64url text only/],
      [invite.slice(0, invite.length - 20), /not JSON|field/],
      [inviteOf({ ...bodyOf(invite), v: 2 }), /field v/],
      [inviteOf({ ...bodyOf(invite), extra: 1 }), /field body|extra|Unrecognized/i],
      [inviteOf({ ...bodyOf(invite), addrs: [] }), /field addrs/],
      [inviteOf({ ...bodyOf(invite), addrs: ['/ip4/192.0.2.7/tcp/41145'] }), /does not end in \/p2p\//],
      [inviteOf({ ...bodyOf(invite), addrs: [addrOf(mallory)] }), /another peer's/],
      [inviteOf({ ...bodyOf(invite), psk: 'xyz' }), /field psk/],
      [INVITE_PREFIX + 'A'.repeat(9000), /at most 8192/]
    ]
    for (const [text, why] of cases) {
      const err = throwsCode(() => readInvite(text, now), 'E1310')
      assert.equal(err.what, 'this is not a valid invite')
      assert.match(err.why ?? '', why, `${text.slice(0, 40)}: ${err.why ?? ''}`)
    }
  })
})

describe('invite minter', () => {
  let node: NodeIdentity
  before(async () => { node = await generateIdentity() })

  test('invites carry the addresses off loopback; loopback only when that is all there is, and it says so', () => {
    const p2p = `/p2p/${node.peerIdString}`
    const mixed = inviteAddresses([`/ip4/127.0.0.1/tcp/1${p2p}`, `/ip4/10.1.2.3/tcp/1${p2p}`, `/ip6/::1/tcp/1${p2p}`, `/ip4/10.1.2.3/tcp/1${p2p}`])
    assert.deepEqual(mixed, { addresses: [`/ip4/10.1.2.3/tcp/1${p2p}`], loopbackOnly: false })
    assert.deepEqual(inviteAddresses([`/ip4/127.0.0.1/tcp/1${p2p}`]), { addresses: [`/ip4/127.0.0.1/tcp/1${p2p}`], loopbackOnly: true })
    throwsCode(() => inviteAddresses([]), 'E1317')
    throwsCode(() => inviteAddresses(['/ip4/10.1.2.3/tcp/1']), 'E1317')
  })

  test('mints a verifiable invite with the default 24 h; refuses --psk on a public network and lifetimes out of range', () => {
    const minter = new InviteMinter({ identity: node, addresses: () => [`/ip4/127.0.0.1/tcp/5/p2p/${node.peerIdString}`] })
    const minted = minter.mint({}, 1000)
    assert.equal(minted.expiresAt, 1000 + 24 * 3_600_000)
    assert.equal(minted.loopbackOnly, true)
    assert.deepEqual(readInvite(minted.invite, 2000).addresses, minted.addresses)
    const err = throwsCode(() => minter.mint({ includePsk: true }), 'E1313')
    assert.match(err.what, /not private/)
    throwsCode(() => minter.mint({ expiresInMs: 1000 }), 'E1314')
    throwsCode(() => minter.mint({ expiresInMs: 31 * 24 * 3_600_000 }), 'E1314')
  })
})
