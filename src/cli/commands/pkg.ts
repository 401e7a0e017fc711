/**
 * `agora pkg publish|search|info|install|list|verify|remove|pin|unpin|gc|export|import`
 * (docs/packages.md): signed, content-addressed packages over IPFS. Thin
 * adapters over the packages API; paths are made absolute here, flags are
 * checked before anything is sent (E1472 spec, E1473 flag, E1474 export
 * target), and publish and install draw a progress bar on a terminal.
 */
import type { Command } from 'commander'
import { clientFor } from '../../client/index.ts'
import type { StreamOptions, TransferProgress } from '../../client/packages-schemas.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printList, printRecord, say } from '../output.ts'
import { collect } from '../jobs-args.ts'
import { checkSpec, exportBody, publishBody, searchQuery, type ExportFlags, type PublishFlags, type SearchFlags } from '../pkg-args.ts'
import { installedColumns, infoView, installedView, publishedView, searchColumns, searchSummary, verifyColumns } from '../pkg-format.ts'
import { barAllowed, TransferProgressView } from '../transfer-progress.ts'

/** A publish or install may be quiet this long (resolving, asking peers) before the CLI gives up on it. */
const STREAM_IDLE_MS = 10 * 60_000
/** Search waits for peers up to its own timeout (60 s at most): the request may take that long. */
const SEARCH_CALL_MS = 90_000
/** Export, import, verify and gc work through whole packages on the node's disk. */
const DISK_WORK_MS = 60 * 60_000

export function registerPkgCommands (program: Command): void {
  const pkg = program.command('pkg').description('packages: publish, search and install signed, content-addressed packages (prompts, agents, tools, models, datasets…) over IPFS')

  pkg.command('publish <path>')
    .description('publish a file or folder as a signed package: imported as UnixFS on this node, announced to the network')
    .requiredOption('--name <publisher/name>', 'the package name, lower case, e.g. acme/summarize-prompts')
    .option('--package-version <semver>', 'the package\'s version, e.g. 1.2.0, required (written --version after `pkg publish`)')
    .option('--kind <kind>', 'prompt, agent, tool, model, adapter, dataset, eval, policy, job-template or other', 'other')
    .option('--description <text>', 'one paragraph on what it is')
    .option('--license <spdx>', 'its license, e.g. MIT')
    .option('--tags <a,b>', 'search tags, comma separated')
    .option('--dep <name=range>', 'a dependency, e.g. acme/tokenizer=^1.0 (repeatable)', collect, [])
    .option('--owner <peerId>', 'a key that may publish this name from now on (repeatable; rotates or adds owners)', collect, [])
    .option('--engine <engine>', 'models and adapters: the engine they run on, e.g. llama.cpp')
    .option('--base-model <sha256>', 'adapters: sha256 of the base model')
    .option('--quantisation <q>', 'models: the quantisation, e.g. Q4_K_M')
    .option('--context-length <n>', 'models: the context length in tokens')
    .action(async (path: string, flags: PublishFlags, cmd: Command) => {
      const opts = globalOptions(cmd)
      const body = await publishBody(path, flags)
      const result = await withBar(opts, async stream => await clientFor(opts.dataDir).publishPackage(body, stream))
      printRecord(result, opts, undefined, publishedView(result))
    })

  pkg.command('search [words...]')
    .description('search packages: this node\'s catalogue and its peers, ranked by relevance, publisher reputation and providers')
    .option('--kind <kind>', 'only packages of this kind')
    .option('--limit <n>', 'at most this many results (1-100, default 20)')
    .option('--timeout <duration>', 'how long to wait for peers, e.g. 3s (default packages.searchTimeoutMs)')
    .option('--local', 'this node\'s catalogue only: ask no peer')
    .action(async (words: string[], flags: SearchFlags, cmd: Command) => {
      const opts = globalOptions(cmd)
      const query = await searchQuery(words, flags)
      const result = await clientFor(opts.dataDir, { timeoutMs: SEARCH_CALL_MS }).packageSearch(query)
      if (opts.format === 'json' || opts.format === 'yaml') { printRecord(result, opts); return }
      printList(result.results, searchColumns, opts)
      say(searchSummary(result), opts)
    })

  pkg.command('info <spec>')
    .description('one package: its manifest, files, publisher, providers and whether it is installed (publisher/name[@version or range], or a CID)')
    .action(async (spec: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const info = await clientFor(opts.dataDir, { timeoutMs: SEARCH_CALL_MS }).packageInfo(await checkSpec(spec))
      printRecord(info, opts, undefined, infoView(info))
    })

  pkg.command('install <spec>')
    .description('install a package from every peer that has it: signature and publisher checked, each block verified, files written atomically')
    .option('--trust-publisher', 'install even when the publisher\'s reputation is under packages.minPublisherReputation')
    .option('--pin', 'keep it out of cache collection (`agora pkg gc`)')
    .action(async (spec: string, flags: { trustPublisher?: boolean, pin?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const body = { spec: await checkSpec(spec), ...(flags.trustPublisher === true ? { trustPublisher: true } : {}), ...(flags.pin === true ? { pin: true } : {}) }
      const installed = await withBar(opts, async stream => await clientFor(opts.dataDir).installPackage(body, stream))
      printRecord(installed, opts, undefined, installedView(installed))
    })

  pkg.command('list')
    .alias('ls')
    .description('installed packages, with their size, pin and where their files are')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printList(await clientFor(opts.dataDir).packages(), installedColumns, opts)
    })

  pkg.command('verify [spec]')
    .description('re-hash installed files against their manifest (one package, or all); exit 1 when any is damaged')
    .action(async (spec: string | undefined, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const reports = await clientFor(opts.dataDir, { timeoutMs: DISK_WORK_MS }).verifyPackages(spec === undefined ? undefined : await checkSpec(spec))
      printList(reports, verifyColumns, opts)
      if (reports.some(r => !r.ok)) process.exitCode = 1
    })

  pkg.command('remove <spec>')
    .alias('rm')
    .description('remove an installed package, or an interrupted install: its files, and its blocks unless another package or a pin needs them')
    .action(async (spec: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const removed = await clientFor(opts.dataDir).removePackage(await checkSpec(spec))
      printRecord(removed, opts, undefined, { removed: `${removed.name}@${removed.version}`, cid: removed.cid })
    })

  for (const [verb, pinned] of [['pin', true], ['unpin', false]] as const) {
    pkg.command(`${verb} <spec>`)
      .description(pinned ? 'keep an installed package out of cache collection' : 'let cache collection take an installed package again')
      .action(async (spec: string, _flags: unknown, cmd: Command) => {
        const opts = globalOptions(cmd)
        const result = await clientFor(opts.dataDir).pinPackage(await checkSpec(spec), pinned)
        printRecord(result, opts, undefined, installedView(result))
      })
  }

  pkg.command('gc')
    .description('remove interrupted installs over an hour old, then collect unpinned packages, least recently used first, until the cache is under packages.cacheBytes')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const result = await clientFor(opts.dataDir, { timeoutMs: DISK_WORK_MS }).gcPackages()
      if (opts.format !== 'table') { printRecord(result, opts); return }
      if (result.removed.length > 0) printList(result.removed, [{ header: 'removed', value: r => `${r.name}@${r.version}` }, { header: 'size', value: r => r.size }], opts)
      say(`freed ${result.freedBytes} bytes`, opts)
    })

  pkg.command('export <spec>')
    .description('write a package out: a CAR file (--car) or into Ollama\'s model store (--ollama, model packages)')
    .option('--car <file>', 'write a CARv1 of the package (manifest, envelope, every block) to this file')
    .option('--ollama', 'export a model package into Ollama\'s model store, so `ollama run` finds it')
    .option('--model <name>', 'with --ollama: the model name, e.g. llama-3b:q4 (default from the package name)')
    .option('--models-dir <dir>', 'with --ollama: Ollama\'s models dir (default OLLAMA_MODELS or ~/.ollama/models)')
    .action(async (spec: string, flags: ExportFlags, cmd: Command) => {
      const opts = globalOptions(cmd)
      const body = await exportBody(await checkSpec(spec), flags)
      const result = await clientFor(opts.dataDir, { timeoutMs: DISK_WORK_MS }).exportPackage(body)
      printRecord(result, opts, undefined, 'car' in result ? { car: body.car, cid: result.car.cid, bytes: result.car.bytes, blocks: result.car.blocks } : { model: result.ollama.model, 'models dir': result.ollama.modelsDir, run: `ollama run ${result.ollama.model}` })
    })

  pkg.command('import <car>')
    .description('import a CAR written by `agora pkg export --car`: every block checked against its CID, the package as if installed')
    .option('--trust-publisher', 'import even when the publisher\'s reputation is under packages.minPublisherReputation')
    .action(async (car: string, flags: { trustPublisher?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const { resolve } = await import('node:path')
      const body = { path: resolve(car), ...(flags.trustPublisher === true ? { trustPublisher: true } : {}) }
      const result = await clientFor(opts.dataDir, { timeoutMs: DISK_WORK_MS }).importPackage(body)
      printRecord(result, opts, undefined, { imported: `${result.name}@${result.version}`, cid: result.cid, blocks: result.blocks })
    })
}

/** Run a streamed call with a progress bar on a terminal (none for pipes, --json or --quiet). */
async function withBar<R> (opts: GlobalOptions, call: (stream: StreamOptions) => Promise<R>): Promise<R> {
  const view = barAllowed(opts) ? new TransferProgressView(process.stderr) : undefined
  // always streamed: a long install then has an idle timeout, not a total one
  const onProgress = (progress: TransferProgress): void => { view?.update(progress) }
  try {
    return await call({ onProgress, idleTimeoutMs: STREAM_IDLE_MS })
  } finally {
    view?.end()
  }
}
