/**
 * Errors every layer understands (docs/ARCHITECTURE.md, "Errors"): bad input is the user's to fix (the CLI exits 1
 * with the message, the extension shows it); a cancellation is nobody's fault.
 */

/** Bad input: an unreadable, empty or malformed file, a line that is not a record, a range with no records. */
export class InputError extends Error {}

/** A model folder PrefLens cannot open: the message names the file (and tensor) and what is wrong with it. */
export class ModelError extends InputError {}

/** A tokenizer folder PrefLens cannot load (tokenizer.json, tokenizer_config.json, the chat template). */
export class TokenizerLoadError extends InputError {}

/** The user cancelled the work (Ctrl-C, the progress notification's Cancel). */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}
