/**
 * The program: `agora <noun> <verb>`: the command line. Every command is a thin adapter
 * over the typed control-API client (src/client/), except `start`, which runs
 * the node, and `config` / `identity` verbs that work without a node.
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { Command, CommanderError, Option } from 'commander'
import { AgoraError, formatError, messageOf } from '../errors.ts'
import { VERSION } from '../version.ts'
import { nearest } from '../config/suggest.ts'
import { registerNodeCommands } from './commands/node.ts'
import { registerIdentityCommands } from './commands/identity.ts'
import { registerPeersCommands } from './commands/peers.ts'
import { registerOffersCommands } from './commands/offers.ts'
import { registerKeysCommands } from './commands/keys.ts'
import { registerInferenceCommands } from './commands/inference.ts'
import { registerGatewayCommands } from './commands/gateway.ts'
import { registerJobsCommands } from './commands/jobs.ts'
import { registerMarketCommands } from './commands/market.ts'
import { registerVerifyCommands } from './commands/verify.ts'
import { registerConfigCommands } from './commands/config.ts'
import { registerDoctorCommand } from './commands/doctor.ts'
import { registerCompletionCommand } from './commands/completion.ts'
import { registerServiceCommands } from './commands/service.ts'
import { registerChangelogCommand } from './commands/changelog.ts'
import { registerLogsCommand } from './commands/logs.ts'
import { registerDemoCommand } from './commands/demo.ts'
import { registerInviteCommands } from './commands/invite.ts'
import { registerBootstrapCommands } from './commands/bootstrap.ts'
import { registerSetupCommand } from './commands/setup.ts'
import { registerPkgCommands } from './commands/pkg.ts'
import { packageVersionArgv } from './pkg-args.ts'
import { addHelpExamples, examplesText } from './help-examples.ts'

export function buildProgram (): Command {
  const program = new Command('agora')
    .description('Agora: a peer-to-peer network for sharing AI compute and agent work')
    .version(VERSION, '-V, --version')
    .addOption(new Option('-d, --data-dir <dir>', 'node data directory (env AGORA_DATA_DIR, default ~/.agora)'))
    .addOption(new Option('-c, --config <file>', 'configuration file (default: search ./agora.yaml, $XDG_CONFIG_HOME/agora, /etc/agora)'))
    .option('--json', 'print JSON')
    .option('--yaml', 'print YAML')
    .option('--csv', 'print CSV')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--no-color', 'no colours in the output')
    .option('-v, --verbose', 'show stack traces on errors')
    .option('--debug-safe', 'detail for a bug report with every secret taken out: stack traces, debug logs from `start`, keys and tokens redacted in all output and logs')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => {} })
  registerNodeCommands(program)
  registerIdentityCommands(program)
  registerPeersCommands(program)
  registerInviteCommands(program)
  registerBootstrapCommands(program)
  registerOffersCommands(program)
  registerKeysCommands(program)
  registerInferenceCommands(program)
  registerGatewayCommands(program)
  registerJobsCommands(program)
  registerMarketCommands(program)
  registerVerifyCommands(program)
  registerConfigCommands(program)
  registerDoctorCommand(program)
  registerServiceCommands(program)
  registerChangelogCommand(program)
  registerLogsCommand(program)
  registerDemoCommand(program)
  registerSetupCommand(program)
  registerPkgCommands(program)
  program.command('examples')
    .description('common tasks, one command line each')
    .action(() => { process.stdout.write(examplesText()) })
  registerCompletionCommand(program)
  // errors are ours to print (one line); help shown for a missing subcommand goes to stdout like any help
  addHelpExamples(allCommands(program))
  for (const cmd of allCommands(program)) cmd.exitOverride().configureOutput({ outputError: () => {}, writeErr: text => process.stdout.write(text) }).showSuggestionAfterError(true)
  return program
}

export function allCommands (cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(c => allCommands(c))]
}

/** Usage errors exit 2: E600, and `agora pkg`'s spec, flag and export-target errors (its flags name their own codes). */
const USAGE_ERRORS: ReadonlySet<string> = new Set(['E600', 'E1472', 'E1473', 'E1474'])

/** Run the CLI; resolves to the exit code. */
export async function runCli (argv: string[]): Promise<number> {
  const program = buildProgram()
  const debugSafe = argv.includes('--debug-safe')
  // loaded only when asked for: every other command starts without it
  if (debugSafe) (await import('./safe-output.ts')).redactOutput(argv)
  const verbose = debugSafe || argv.includes('--verbose') || argv.includes('-v')
  try {
    // `pkg publish --version 1.2.0` names the package's version, not agora's
    await program.parseAsync(packageVersionArgv(argv), { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; so does the help shown for a missing subcommand (`agora`, `agora jobs`)
      if (err.exitCode === 0 || err.code === 'commander.help') return 0
      const { what, suggestion } = usageMessage(err.message)
      process.stderr.write(formatError('E600', what, undefined, suggestion === undefined ? 'see `agora --help`' : `did you mean \`${suggestion}\`? (see \`agora --help\`)`) + '\n')
      return 2
    }
    if (err instanceof AgoraError) {
      process.stderr.write(err.format() + '\n')
      if (verbose && err.stack !== undefined) process.stderr.write(err.stack + '\n')
      return USAGE_ERRORS.has(err.code) ? 2 : 1
    }
    process.stderr.write(formatError('E599', messageOf(err), 'an unexpected error', 'run with --verbose and report it') + '\n')
    if (verbose && err instanceof Error && err.stack !== undefined) process.stderr.write(err.stack + '\n')
    return 1
  }
}

/**
 * Commander's usage error as one line, and its "Did you mean X?" kept only
 * when X is a likely typo of what was typed (commander also offers `stop`
 * for `steps`: two edits in five letters is another word).
 */
export function usageMessage (message: string): { what: string, suggestion: string | undefined } {
  const [first = '', ...rest] = message.replace(/^error: /, '').split('\n')
  const offered = /\(Did you mean (\S+)\?\)/.exec(rest.join(' '))?.[1]
  const typed = /unknown (?:command|option) '([^']+)'/.exec(first)?.[1]
  if (offered === undefined || typed === undefined) return { what: first, suggestion: undefined }
  const near = nearest(typed, [offered], Math.max(1, Math.floor(typed.replace(/^-+/, '').length / 3)))
  return { what: first, suggestion: near }
}
