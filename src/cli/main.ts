/**
 * The `preflens` command (docs/ARCHITECTURE.md, "CLI"): the usage and the dispatch of its command table
 * (cli/commands/index.ts). Shares the engine in src/core with the extension. Exit codes: 0 ok, 1 bad input (one
 * message on stderr), 2 usage, 130 cancelled. The model engine (onnxruntime's native library) and the run parser load
 * only in the commands that use them: `preflens stats` on a big file starts its scan workers without paying for them.
 */
import { CancelledError, InputError } from '../core/errors.js';
import { FORMAT_NAMES } from '../core/types.js';
import type { CliCommand } from './command.js';
import { COMMANDS } from './commands/index.js';
import { UsageError } from './options.js';

/** `preflens --help`, from the command table. */
export function usage(commands: readonly CliCommand[] = COMMANDS): string {
  const blocks = commands.map((c) => c.usage.split('\n').map((l) => `  ${l}`).join('\n'));
  return `usage: preflens <command> [options]\n\ncommands:\n${blocks.join('\n\n')}\n\nformats: ${FORMAT_NAMES.join(', ')}\nexit codes: 0 ok, 1 bad input, 2 usage, 130 cancelled`;
}

export async function main(argv: string[], commands: readonly CliCommand[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
      process.stdout.write(usage(commands) + '\n');
      return name === undefined ? 2 : 0;
    }
    const cmd = commands.find((c) => c.name === name);
    if (!cmd) throw new UsageError(`unknown command "${name}"`);
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`preflens: ${e.message}\n${usage(commands)}\n`);
      return 2;
    }
    if (e instanceof InputError) {
      process.stderr.write(`preflens: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CancelledError) {
      process.stderr.write('preflens: cancelled\n');
      return 130;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err.code === 'string' && ['EACCES', 'ENOENT', 'EISDIR', 'EIO', 'EPERM'].includes(err.code)) {
      process.stderr.write(`preflens: ${err.path ?? ''}: cannot read (${err.code})\n`);
      return 1;
    }
    process.stderr.write(`preflens: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 3;
  }
}

/** Runs the command of `argv` and exits with its code (the launcher, cli/launch.ts, calls this). */
export function run(argv: string[]): void {
  void main(argv).then((code) => {
    // out as soon as the output is written, not when the event loop has drained (worker threads wound down, handles
    // closed): 5–15 ms of a `stats` run (README, "Hub-shaped data")
    process.exitCode = code;
    process.stdout.write('', () => process.exit(code));
  });
}

if (require.main === module) run(process.argv.slice(2));
