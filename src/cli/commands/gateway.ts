/** `agora requests`, `agora providers` and `agora access`: the inference gateway as an operator sees it. */
import { Option, type Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { clientFor, type ProviderEntry } from '../../client/index.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printList, printRecord } from '../output.ts'

export function registerGatewayCommands (program: Command): void {
  const requests = program.command('requests').description('metered inference requests (who, where, model, tokens, latency, outcome, price)')
  requests.command('list').alias('ls')
    .description('recent requests, newest first')
    .option('--limit <n>', 'at most this many', '50')
    .option('--model <model>', 'only this model')
    .addOption(new Option('--outcome <outcome>', 'only this outcome').choices(['ok', 'error', 'cancelled']))
    .action(async (flags: { limit: string, model?: string, outcome?: 'ok' | 'error' | 'cancelled' }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const limit = Number(flags.limit)
      if (!Number.isInteger(limit) || limit < 1) throw new AgoraError('E600', `--limit takes a positive whole number, not '${flags.limit}'`)
      printList(await clientFor(opts.dataDir).requests({ limit, model: flags.model, outcome: flags.outcome }), [
        { header: 'id', value: r => r.id },
        { header: 'time', value: r => new Date(r.ts).toISOString() },
        { header: 'model', value: r => r.model },
        { header: 'server', value: r => r.server },
        { header: 'tokens in/out', value: r => `${r.promptTokens}/${r.completionTokens}` },
        { header: 'first token', value: r => r.firstTokenMs === null ? '-' : `${Math.round(r.firstTokenMs)} ms` },
        { header: 'total', value: r => `${Math.round(r.totalMs)} ms` },
        { header: 'outcome', value: r => r.errorCode === null ? r.outcome : `${r.outcome} ${r.errorCode}` },
        { header: 'price', value: r => r.price }
      ], opts)
    })
  requests.command('show <id>')
    .description('one request, whole')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printRecord(await clientFor(opts.dataDir).request(id), opts)
    })

  const providers = program.command('providers').description('inference engines this node serves from (Ollama, OpenAI-compatible servers, the embedded engine)')
  providers.command('list').alias('ls')
    .description('providers with their health and models')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printList(await clientFor(opts.dataDir).providers(), PROVIDER_COLUMNS, opts)
    })
  providers.command('add <name>')
    .description('add an engine; persisted, and in use at once (no restart)')
    .addOption(new Option('--kind <kind>', 'its API').choices(['ollama', 'openai']).makeOptionMandatory())
    .requiredOption('--url <url>', 'base URL, e.g. http://127.0.0.1:11434 (Ollama) or http://127.0.0.1:1234/v1 (OpenAI-compatible)')
    .option('--api-key-env <VAR>', 'environment variable holding its API key (the key itself is never stored)')
    .action(async (name: string, flags: { kind: 'ollama' | 'openai', url: string, apiKeyEnv?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const [{ checkFlags }, { addProviderBody }] = await Promise.all([import('../check-flags.ts'), import('../../client/schemas.ts')])
      const spec = checkFlags(addProviderBody, { name, kind: flags.kind, url: flags.url, ...(flags.apiKeyEnv === undefined ? {} : { apiKeyEnv: flags.apiKeyEnv }) },
        { name: '<name>', kind: '--kind', url: '--url', apiKeyEnv: '--api-key-env' }, 'providers add')
      const entry = await clientFor(opts.dataDir).addProvider(spec)
      printProvider(entry, opts)
    })
  providers.command('remove <name>')
    .description('remove an engine added with `providers add`')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printRecord(await clientFor(opts.dataDir).removeProvider(name), opts)
    })
  providers.command('test <name>')
    .description('check an engine now: health and models')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printProvider(await clientFor(opts.dataDir).testProvider(name), opts)
    })

  const access = program.command('access').description('who may use this node\'s compute')
  access.command('show')
    .description('the trust mode in force')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printRecord(await clientFor(opts.dataDir).access(), opts)
    })
  access.command('set <mode>')
    .description('private (only this node), friends (trusted peers) or public (any peer not banned); takes effect at once')
    .action(async (mode: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      if (mode !== 'private' && mode !== 'friends' && mode !== 'public') throw new AgoraError('E600', `unknown trust mode '${mode}'`, { hint: 'use private, friends or public' })
      printRecord(await clientFor(opts.dataDir).setTrustMode(mode), opts)
    })
}

const PROVIDER_COLUMNS = [
  { header: 'name', value: (p: ProviderEntry) => p.name },
  { header: 'kind', value: (p: ProviderEntry) => p.kind },
  { header: 'source', value: (p: ProviderEntry) => p.source },
  { header: 'url', value: (p: ProviderEntry) => p.url },
  { header: 'health', value: (p: ProviderEntry) => p.health.lastError === undefined ? p.health.status : `${p.health.status}: ${p.health.lastError}` },
  { header: 'models', value: (p: ProviderEntry) => p.models }
]

function printProvider (entry: ProviderEntry, opts: GlobalOptions): void {
  printRecord(entry, opts, undefined, Object.fromEntries(PROVIDER_COLUMNS.map(c => [c.header, c.value(entry)])))
}
