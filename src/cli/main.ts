/** Entry point of the `agora` command (bin/agora.js and `npm start` land here). */
import { enableCompileCache } from 'node:module'

// Cache compiled (and type-stripped) modules on disk: a CLI call then starts
// in about the time of `node -e 0` instead of re-stripping every .ts file.
enableCompileCache()

// `agora … | head` closes the pipe early: that is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})
const { runCli } = await import('./program.ts')
process.exitCode = await runCli(process.argv.slice(2))
