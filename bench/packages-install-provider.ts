/**
 * A provider process for the install benchmark (bench/packages-install.ts):
 * one package node (real libp2p on loopback, Helia blocks on disk,
 * /agora/blocks/1 served) holding the file given as argv[2], imported with
 * the unixfs-v1-2025 profile, and a TCP server that sends the same bytes to
 * whoever connects (the raw-copy baseline, between the same processes),
 * and the same bytes over a bare libp2p stream (packages-install-floor.ts).
 * Prints one JSON line — its address, the file's manifest entry, the TCP
 * port — and exits when its stdin closes.
 */
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { importPath } from '../src/packages/importer.ts'
import { createInstallNode } from '../test/harness/install-nodes.ts'
import { serveRawCopies } from './packages-install-floor.ts'

const file = process.argv[2]
if (file === undefined) throw new Error('usage: packages-install-provider.ts <file>')
const node = await createInstallNode({ wantsPerPeer: 4096 })
const { files } = await importPath(node.helia.blockstore, file, { maxFiles: 1, maxPackageBytes: 2 ** 40 })
const bytes = readFileSync(file)
await serveRawCopies(node.node.libp2p, bytes)
const tcp = createServer(socket => { socket.end(bytes) })
tcp.listen(0, '127.0.0.1')
await once(tcp, 'listening')
process.stdout.write(JSON.stringify({ address: node.node.address.toString(), files, tcpPort: (tcp.address() as AddressInfo).port }) + '\n')
process.stdin.resume()
process.stdin.on('end', () => {
  tcp.close()
  void node.stop().finally(() => process.exit(0))
})
