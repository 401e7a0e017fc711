/** The bootstrap list and swarm key in a real config file: no duplicates, comments kept, conflicts refused. */
import { test, describe, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addBootstrapPeers, removeBootstrapPeer, joinSwarmKey, fileConfig, InviteMinter, readInvite } from '../../../src/invites/index.ts'
import { generateSwarmKey, swarmKeyHex } from '../../../src/p2p/swarm-key.ts'
import { generateIdentity } from '../../../src/identity/index.ts'
import { isAgoraError } from '../../../src/errors.ts'

const A = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'
const B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const a1 = `/ip4/192.0.2.7/tcp/41145/p2p/${A}`
const a2 = `/ip4/192.0.2.7/tcp/41146/ws/p2p/${A}`
const b1 = `/ip4/198.51.100.1/tcp/41145/p2p/${B}`

describe('bootstrap list in the config file', () => {
  let dir: string
  let file: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agora-bootstrap-'))
    file = join(dir, 'agora.yaml')
  })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  test('add creates the file, appends only new addresses, and keeps comments', () => {
    assert.deepEqual(addBootstrapPeers(file, [a1]).added, [a1])
    writeFileSync(file, '# my node\n' + readFileSync(file, 'utf8'))
    const second = addBootstrapPeers(file, [a1, b1, b1])
    assert.deepEqual(second.added, [b1])
    assert.deepEqual(second.present, [a1, b1])
    assert.deepEqual(fileConfig(file).network.bootstrap, [a1, b1])
    assert.match(readFileSync(file, 'utf8'), /^# my node/)
  })

  test('add refuses what is not a bootstrap address and writes nothing: E1315', () => {
    for (const bad of ['/ip4/192.0.2.7/tcp/41145', 'not-an-address', `/p2p/${A}`, '/ip4/192.0.2.7/tcp/41145/p2p/notapeer']) {
      assert.throws(() => addBootstrapPeers(file, [a1, bad]), (err: unknown) => isAgoraError(err, 'E1315'), bad)
    }
    assert.deepEqual(fileConfig(file).network.bootstrap, [])
  })

  test('remove takes an address or every address of a peer id; an unknown one is E1316', () => {
    addBootstrapPeers(file, [a1, a2, b1])
    assert.deepEqual(removeBootstrapPeer(file, a2).removed, [a2])
    assert.deepEqual(removeBootstrapPeer(file, A).removed, [a1])
    assert.deepEqual(fileConfig(file).network.bootstrap, [b1])
    assert.throws(() => removeBootstrapPeer(file, A), (err: unknown) => isAgoraError(err, 'E1316'))
  })

  test('joining a private network writes the key (mode 0600) and names it; the same key again is no change; another is E1318', () => {
    const hex = swarmKeyHex(generateSwarmKey())
    const first = joinSwarmKey(file, dir, hex)
    assert.deepEqual(first, { path: join(dir, 'swarm.key'), changed: true })
    assert.equal(statSync(first.path).mode & 0o777, 0o600)
    assert.equal(fileConfig(file).network.psk, first.path)
    assert.equal(swarmKeyHex(readFileSync(first.path, 'utf8')), hex)
    assert.deepEqual(joinSwarmKey(file, dir, hex), { path: first.path, changed: false })
    const other = swarmKeyHex(generateSwarmKey())
    assert.throws(() => joinSwarmKey(file, dir, other), (err: unknown) => isAgoraError(err, 'E1318'))
  })

  test('the minter of a private network puts its swarm key in the invite', async () => {
    const keyFile = join(dir, 'net.key')
    const text = generateSwarmKey()
    writeFileSync(keyFile, text)
    const node = await generateIdentity()
    const minter = new InviteMinter({ identity: node, addresses: () => [`/ip4/10.0.0.2/tcp/4/p2p/${node.peerIdString}`] }, { pskFile: keyFile })
    const minted = minter.mint({ includePsk: true })
    assert.equal(minted.includesPsk, true)
    assert.equal(readInvite(minted.invite).psk, swarmKeyHex(text))
    assert.equal(readInvite(minter.mint({}).invite).psk, undefined, 'only when asked')
  })
})
