/**
 * Errors every layer understands (docs/ARCHITECTURE.md, "Errors"): bad input is the user's to fix (the CLI exits 1
 * with the message, the extension shows it); a cancellation is nobody's fault.
 */

/** Bad input: an unreadable, empty or malformed file, a line that is not a record, a range with no records. */
export class InputError extends Error {}

/** The user cancelled the work (Ctrl-C, the progress notification's Cancel). */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}
