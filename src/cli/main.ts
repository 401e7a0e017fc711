/** Entry point of the `agora` command (bin/agora.js and `npm start` land here). */
import { runCli } from './program.ts'

process.exitCode = await runCli(process.argv.slice(2))
