/**
 * The wizard's terminal layer: the `Prompter` the steps ask through, made
 * of @inquirer/prompts (arrow keys, space to tick, enter to answer). Ctrl-C
 * ends the wizard with E1343 and nothing written.
 */
import { checkbox, input, select } from '@inquirer/prompts'
import { AgoraError } from '../../errors.ts'
import type { Choice, Prompter } from './steps.ts'

export function terminalPrompter (out: NodeJS.WritableStream = process.stdout): Prompter {
  return {
    select: async <T>(message: string, choices: Array<Choice<T>>, defaultValue?: T) =>
      await cancellable(select<T>({ message, choices: choices.map(c => ({ value: c.value, name: c.name, description: c.description })), default: defaultValue, loop: false })),
    input: async (message, init = {}) =>
      await cancellable(input({ message, default: init.default, validate: init.validate })),
    checkbox: async <T>(message: string, choices: Array<Choice<T>>) =>
      await cancellable(checkbox<T>({ message, choices: choices.map(c => ({ value: c.value, name: c.name, checked: c.checked === true })) })),
    say: text => { out.write(text + '\n') }
  }
}

/** Whether the wizard can ask: both ends of the session are a terminal. */
export function onTerminal (): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true
}

async function cancellable<T> (asked: Promise<T>): Promise<T> {
  try {
    return await asked
  } catch (err) {
    // @inquirer/prompts rejects with ExitPromptError on Ctrl-C (and when stdin closes)
    if (err instanceof Error && err.name === 'ExitPromptError') throw new AgoraError('E1343', 'setup cancelled', { why: 'the prompt was closed (Ctrl-C)' })
    throw err
  }
}
