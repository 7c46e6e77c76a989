/**
 * The commands of `preflens` (docs/ARCHITECTURE.md, "CLI"), in the order of its help: one table. A new command is a
 * CliCommand added here; the usage text and the dispatch come from this list (cli/main.ts).
 */
import type { CliCommand } from '../command.js';
import { exportCommand } from './export.js';
import { refsCommand } from './refs.js';
import { rolloutsCommand } from './rollouts.js';
import { runCommand } from './run.js';
import { scoreCommand } from './score.js';
import { spinalCommand } from './spinal.js';
import { statsCommand } from './stats.js';

export const COMMANDS: readonly CliCommand[] = [statsCommand, scoreCommand, refsCommand, spinalCommand, runCommand, exportCommand, rolloutsCommand];
