/**
 * The `preflens` command's launcher (dist/cli.js): loads the CLI's bundle (dist/cli.bundle.js, from cli/main.ts) with
 * its V8 code cache (core/codeCache.ts; docs/ARCHITECTURE.md, "Start-up") and runs it.
 */
import { join } from 'node:path';
import { CODE_CACHE_ENV, loadBundle, report } from '../core/codeCache.js';

const bundle = loadBundle(join(__dirname, 'cli.bundle.js'));
report('cli.bundle.js', bundle);
// the build's training runs: the cache of every function the run compiled, written as the process exits
if (process.env[CODE_CACHE_ENV] === 'write') process.once('exit', () => bundle.saveCache());
(bundle.exports.run as (argv: string[]) => void)(process.argv.slice(2));
