/** A command of the `preflens` CLI (docs/ARCHITECTURE.md, "CLI"): its name, its usage and its handler. */
export interface CliCommand {
  readonly name: string;
  /** Its lines in `preflens --help`: the synopsis, then what it does and its options (indented). */
  readonly usage: string;
  /** Runs it on its arguments (after the command's name); resolves with the exit code. */
  run(argv: string[]): Promise<number>;
}
