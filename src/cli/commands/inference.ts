/** `agora chat` and `agora embed`: use the network's models from the terminal, through this node's /v1. */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { AgoraError, messageOf } from '../../errors.ts'
import { readApiInfo } from '../../client/index.ts'
import { V1Client, type ChatTurn } from '../../client/v1-client.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printRecord, dim } from '../output.ts'

function v1For (opts: GlobalOptions): V1Client {
  const { info, token } = readApiInfo(opts.dataDir)
  return new V1Client(info.url, token)
}

export function registerInferenceCommands (program: Command): void {
  program.command('chat <model> <prompt>')
    .description('ask a chat model on the network; the answer streams to the terminal (model@peerId or --target picks the node)')
    .option('--target <peerId>', 'only this peer (or "local")')
    .option('--system <text>', 'a system message first')
    .action(async (model: string, prompt: string, flags: { target?: string, system?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const messages: ChatTurn[] = [...(flags.system === undefined ? [] : [{ role: 'system' as const, content: flags.system }]), { role: 'user', content: prompt }]
      const controller = new AbortController()
      const onSigint = (): void => { controller.abort() }
      process.once('SIGINT', onSigint)
      try {
        const streaming = opts.format === 'table' && !opts.quiet
        const result = await v1For(opts).chat(model, messages, text => { if (streaming) process.stdout.write(text) }, { target: flags.target, signal: controller.signal })
        if (streaming) {
          process.stdout.write('\n')
          const usage = result.usage === null ? '' : `, ${result.usage.prompt_tokens} + ${result.usage.completion_tokens} tokens`
          process.stderr.write(dim(`[${result.server ?? '?'}${usage}]`, opts) + '\n')
        } else {
          printRecord(result, opts)
        }
      } finally {
        process.off('SIGINT', onSigint)
      }
    })

  program.command('embed <model> [text]')
    .description('embed a text (or --file) with an embeddings model, e.g. agora/wink-embed-100d')
    .option('--file <file>', 'embed the contents of this file')
    .option('--target <peerId>', 'only this peer (or "local")')
    .action(async (model: string, text: string | undefined, flags: { file?: string, target?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const input = flags.file === undefined ? text : readInput(flags.file)
      if (input === undefined || input === '') throw new AgoraError('E600', 'nothing to embed', { hint: 'pass the text as an argument, or --file <file>' })
      const result = await v1For(opts).embed(model, [input], { target: flags.target })
      const vector = result.vectors[0] ?? []
      const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0))
      printRecord({ model, server: result.server, dimensions: vector.length, promptTokens: result.promptTokens, embedding: vector }, opts, undefined, {
        model,
        server: result.server ?? '-',
        dimensions: vector.length,
        norm: norm.toFixed(4),
        tokens: result.promptTokens,
        head: vector.slice(0, 6).map(x => x.toFixed(4)).join(' ') + (vector.length > 6 ? ' …' : '')
      })
    })
}

function readInput (file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new AgoraError('E600', `cannot read ${file}`, { why: messageOf(err) })
  }
}
