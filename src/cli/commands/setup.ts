/** `agora setup`: the interactive wizard (src/cli/setup/), writing the config in use. */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { globalOptions } from '../context.ts'

export function registerSetupCommand (program: Command): void {
  program.command('setup')
    .description('an interactive wizard on a terminal: identity, engines, sharing and prices, bootstrap peers; writes the config file')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const [{ defaultConfigPath, findConfigFile }, { runSetup }] = await Promise.all([import('../../config/index.ts'), import('../setup/wizard.ts')])
      const configFile = resolve(opts.config ?? findConfigFile() ?? defaultConfigPath())
      await runSetup(opts, { configFile, fresh: false, named: opts.config !== undefined })
    })
}
