/** `agora jobs submit|list|show|watch|result|cancel|types`: work the network splits, routes and aggregates. */
import { confirm, withYes } from '../confirm.ts'
import { writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { AgoraError, messageOf } from '../../errors.ts'
import { ControlClient, EventsClient, readApiInfo, type JobJson } from '../../client/index.ts'
import type { JobInput } from '../../jobs/types.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printList, printRecord, say } from '../output.ts'
import { buildJobSpec, collect, inputSource, type SubmitFlags } from '../jobs-args.ts'
import { watchJob } from '../job-watch.ts'
import { FINISHED, heldBackLine, jobColumns, jobFailure, jobView, subtaskColumns, TYPE_COLUMNS, verificationLine } from '../jobs-format.ts'
import { JobProgressView, EtaEstimator, renderProgress, formatSize } from '../progress.ts'

/** Submitting plans the whole job first: give it longer than the default 30 s. */
const SUBMIT_TIMEOUT_MS = 5 * 60_000

interface Connection {
  client: ControlClient
  url: string
  token: string
}

function connect (opts: GlobalOptions, timeoutMs?: number): Connection {
  const { info, token } = readApiInfo(opts.dataDir)
  return { client: new ControlClient({ url: info.url, token, ...(timeoutMs === undefined ? {} : { timeoutMs }) }), url: info.url, token }
}

/** Progress lines go to stderr, for humans only (not with --json/--yaml/--csv or --quiet). */
const showsProgress = (opts: GlobalOptions): boolean => opts.format === 'table' && !opts.quiet

export function registerJobsCommands (program: Command): void {
  const jobs = program.command('jobs').description('jobs: submit work once; the network splits it, runs the pieces on capable peers and hands back one result')

  jobs.command('submit')
    .description('submit a job (the input inline, or a file uploaded in chunks); --wait follows it to the end')
    .requiredOption('-t, --type <type>', 'job type (see `agora jobs types`), e.g. text.embed, summarize, batch.chat')
    .option('-f, --file <file>', 'input: a text file, uploaded in chunks')
    .option('--text <text>', 'input: this text')
    .option('--items-file <file>', 'input: items, one JSON value per line (batch.chat prompts, …)')
    .option('-p, --param <key=value>', 'a job parameter; JSON values (numbers, true/false, arrays) are parsed (repeatable)', collect, [])
    .option('--max-price <credits>', 'highest price per subtask a worker may ask')
    .option('--budget <credits>', 'credits the whole job may spend')
    .option('--deadline <when>', 'fail the job (keeping partial results) after this: 30s, 10m, 2h or an ISO time')
    .option('--zone <zone>', 'only workers in this zone')
    .option('--auction', 'buy the subtasks by auction: a NEED for them, the best proposal within --budget becomes a contract, its seller runs them')
    .option('-m, --model <model>', 'only workers serving this model (repeatable)', collect, [])
    .option('--tag <tag>', 'only workers with this tag (repeatable)', collect, [])
    .option('-w, --wait', 'follow the job until it finishes (progress bar on a terminal); exit 1 unless it completes')
    .action(async (flags: SubmitFlags & { wait?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const source = inputSource(flags)
      const spec = await buildJobSpec(flags)
      const conn = connect(opts, SUBMIT_TIMEOUT_MS)
      const input: JobInput = source.kind === 'file' ? { kind: 'blob', ...await upload(conn.client, source.path, opts) } : source
      const job = await conn.client.submitJob({ ...spec, input })
      if (flags.wait !== true) {
        if (opts.quiet) { process.stdout.write(job.id + '\n'); return }
        if (opts.format === 'table') say(`submitted job ${job.id} (${job.type}, ${job.progress.total} subtasks); follow it with \`agora jobs watch ${job.id}\``, opts)
        else printRecord(job, opts)
        return
      }
      await follow(conn, job.id, opts)
    })

  jobs.command('list').alias('ls')
    .description('jobs on this node, newest first')
    .option('--state <state>', 'only jobs in this state: submitted, planned, running, aggregating, completed, failed, cancelled')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (flags: { state?: string, limit: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const limit = Number(flags.limit)
      if (!Number.isInteger(limit) || limit < 1) throw new AgoraError('E600', `--limit takes a positive whole number, not '${flags.limit}'`)
      const { JOB_STATES } = await import('../../jobs/types.ts')
      if (flags.state !== undefined && !(JOB_STATES as readonly string[]).includes(flags.state)) {
        throw new AgoraError('E600', `--state takes one of ${JOB_STATES.join(', ')}, not '${flags.state}'`)
      }
      const list = await connect(opts).client.jobs({ state: flags.state as JobJson['state'] | undefined, limit })
      printList(list, jobColumns(), opts)
    })

  jobs.command('show <id>')
    .description('one job and its subtasks: state, attempts, worker, duration (--json: everything, worker peer ids included)')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const detail = await connect(opts).client.job(id)
      if (opts.format === 'csv') { printList(detail.subtasks, subtaskColumns(), opts); return }
      if (opts.format !== 'table') { printRecord(detail, opts); return }
      printRecord(detail, opts, undefined, { ...jobView(detail), verified: verificationLine(detail.verification), 'held back': heldBackLine(detail.heldBack) })
      say('', opts)
      printList(detail.subtasks, subtaskColumns(), opts)
    })

  jobs.command('watch <id>')
    .description('follow a job live until it finishes; exit 1 unless it completes')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      await follow(connect(opts), id, opts)
    })

  jobs.command('result <id>')
    .description('the result of a finished job (partial when it failed or was cancelled)')
    .option('-o, --output <file>', 'write the result to this file (text as is, anything else as JSON)')
    .action(async (id: string, flags: { output?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const result = await connect(opts).client.jobResult(id)
      if (result.partial) process.stderr.write(`partial result: job ${id} ${result.state}\n`)
      const text = typeof result.result === 'string' ? result.result : JSON.stringify(result.result, null, 2)
      if (flags.output !== undefined) {
        try {
          writeFileSync(flags.output, text.endsWith('\n') ? text : text + '\n')
        } catch (err) {
          throw new AgoraError('E600', `cannot write ${flags.output}`, { why: messageOf(err), hint: 'choose a path you can write to' })
        }
        if (opts.format === 'table') say(`wrote the result of job ${id} to ${flags.output}`, opts)
        else printRecord({ jobId: id, state: result.state, partial: result.partial, output: flags.output }, opts)
        return
      }
      if (opts.format !== 'table') { printRecord(result, opts); return }
      if (!opts.quiet) process.stdout.write(text.endsWith('\n') ? text : text + '\n')
    })

  withYes(jobs.command('cancel <id>')
    .description('cancel a job: pending subtasks are dropped, running ones stopped on their workers'))
    .action(async (id: string, flags: { yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      await confirm(`cancel job ${id} (its pending subtasks are dropped, running ones stopped)`, flags)
      const job = await connect(opts).client.cancelJob(id)
      if (opts.format === 'table') say(`cancelled job ${job.id} (${job.progress.committed} of ${job.progress.total} subtasks had finished)`, opts)
      else printRecord(job, opts)
    })

  jobs.command('types')
    .description('the job types this node can run, with their task types (--json: parameter schemas too)')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printList(await connect(opts).client.jobTypes(), TYPE_COLUMNS, opts)
    })
}

/** Follow a job to its end; prints it, then fails (exit 1) unless it completed. */
async function follow (conn: Connection, jobId: string, opts: GlobalOptions): Promise<void> {
  const view = showsProgress(opts) ? new JobProgressView(process.stderr) : undefined
  const controller = new AbortController()
  const onSigint = (): void => { controller.abort() }
  process.once('SIGINT', onSigint)
  let job: JobJson
  try {
    job = await watchJob(jobId, {
      fetch: async id => await conn.client.jobSummary(id),
      openEvents: async () => await EventsClient.connect(conn.url, conn.token),
      onUpdate: j => view?.update(j),
      signal: controller.signal
    })
  } finally {
    process.off('SIGINT', onSigint)
    view?.end()
  }
  if (!FINISHED.has(job.state)) {
    process.stderr.write(`stopped watching; job ${jobId} keeps running: \`agora jobs watch ${jobId}\`\n`)
    process.exitCode = 130
    return
  }
  if (opts.format === 'table') {
    if (job.state === 'completed') say(`job ${job.id} completed: ${job.progress.total} subtasks; the result: \`agora jobs result ${job.id}\``, opts)
  } else {
    printRecord(job, opts)
  }
  if (job.state !== 'completed') throw jobFailure(job)
}

/** Upload a file, with a progress line on a terminal. */
async function upload (client: ControlClient, path: string, opts: GlobalOptions): Promise<{ hash: string, size: number }> {
  const tty = showsProgress(opts) && process.stderr.isTTY
  const eta = new EtaEstimator()
  const blob = await client.uploadFile(path, {
    onProgress: tty ? (sent, total) => { process.stderr.write(`\r\x1b[2Kuploading ${path} ${renderProgress({ done: sent, total }, eta.estimate(sent, total), { unit: formatSize })}`) } : undefined
  })
  if (tty) process.stderr.write('\n')
  return blob
}
