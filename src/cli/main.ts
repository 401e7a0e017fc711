/** Entry point of the `agora` command (bin/agora.js and `npm start` land here). */
import { runCli } from './program.ts'

// `agora … | head` closes the pipe early: that is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})
process.exitCode = await runCli(process.argv.slice(2))
