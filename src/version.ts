/** The package version, read once from package.json (works from src/ and from dist/). */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const pkg = require('../package.json') as { version: string, name: string }

export const VERSION: string = pkg.version
export const NAME: string = pkg.name
