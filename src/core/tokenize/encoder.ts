/**
 * Tokenization as TRL's DPO trainer does it, by convention (docs/ARCHITECTURE.md, "Metric conventions"):
 * - `trl` (TRL ≥ 0.29, DPOTrainer._prepare_dataset): the prompt and prompt + response tokenized jointly — plain text
 *   with the tokenizer's default special tokens and the EOS token's text appended to the response; messages by the
 *   chat template (the prompt always with the generation prompt, prompt + response without it), the rendering's own
 *   special tokens and none added — response ids = joint[len(prompt ids):] even where the prompt's ids are not a
 *   prefix (TRL only warns: so does PrefLens); the sequence cut to max_length keeping its start or its end.
 * - `trl-legacy` (TRL ≤ 0.28, apply_chat_template + tokenize_row): messages rendered to text first (the generation
 *   prompt after a user or tool turn, transformers' continue_final_message after an assistant turn), the prompt text
 *   cut back to its common prefix with each rendered prompt + response in turn, each response the rest; then the
 *   prompt and each response tokenized separately without special tokens, EOS appended to non-conversational
 *   responses, the prompt keeping its last max_prompt_length tokens and each response its first
 *   max_completion_length, the sequence its last (TRL 0.28's default truncation_mode keep_end) or first max_length.
 * Chat templates are rendered by @huggingface/jinja with Python's string methods (tokenize/jinja.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template, pyStrip } from './jinja.js';
import { chatTemplateOf, loadHfTokenizer, tokenizerFile, tokenizerFolder, type HfTokenizer } from './hf.js';
import { tokenByteLengths, tokenSpans, type TokenStyle } from './offsets.js';
import type { Message, PreferenceRecord } from '../types.js';
import { renderMessages } from '../formats/normalize.js';
import { InputError, TokenizerLoadError } from '../errors.js';

/** The chat template cannot render a record (its roles do not alternate as the template requires, say). */
export class ChatTemplateError extends InputError {}

/** A text the convention would tokenize whole is over MAX_TOKENIZE_CHARS: its record is reported, not scored. */
export class TooLongError extends InputError {}

/**
 * The longest text tokenized whole (UTF-16 units: about 250,000 tokens, half a second). A longer text is tokenized
 * only as far as the convention keeps it — its first tokens, in windows that double until two agree (encodeFirst) —
 * or, where the convention keeps its end or all of it, its record is reported (TooLongError): bounded work for a
 * record of any size (issue #24).
 */
export const MAX_TOKENIZE_CHARS = 1 << 20;

/** Tokens a window must give beyond those kept, so that the cut at its end (a word split) cannot reach them. */
const WINDOW_MARGIN = 64;

/** Token ids and pieces; `uncovered`: UTF-8 bytes at the end of the text that no token returned covers (0: all). */
export interface Encoded {
  ids: number[];
  pieces: string[];
  uncovered: number;
}

export interface EncodedResponse {
  /** The prompt this response is scored after (its own: chosen and rejected transcripts may carry different ones). */
  promptIds: number[];
  /** `trl`: the prompt's ids are not a prefix of prompt + response's (TRL warns and slices at len(prompt ids)). */
  notPrefix?: boolean;
  promptTruncated: boolean;
  /** The response text that offsets refer to. */
  text: string;
  ids: number[];
  /** UTF-16 [start, end) of each token in `text` (EOS: [text.length, text.length]). */
  starts: number[];
  ends: number[];
  /** Token pieces as text (for display). */
  pieces: string[];
  truncated: boolean;
}

export interface EncodedRecord {
  convention: Convention;
  /** The record's prompt (the chosen one's, when chosen and rejected carry different prompts). */
  promptText: string;
  promptIds: number[];
  promptTruncated: boolean;
  responses: EncodedResponse[];
  /** Why the trainer would drop this record (trl: its prompt alone fills max_length); it is not scored. */
  skipped?: string;
  /** What TRL would warn about when it tokenizes this record (trl: the prompt's ids are not a prefix of a response's). */
  warning?: string;
}

// (the conventions' names, length limits and TRL's defaults live in convention.ts: the CLI's options read them
// without loading the tokenizer)
import { type Convention, type LengthLimits, TRL_DEFAULTS, TRL_LEGACY_DEFAULTS } from './convention.js';
export { type Convention, type TruncationMode, type LengthLimits, TRL_DEFAULTS, TRL_LEGACY_DEFAULTS } from './convention.js';

export class ModelTokenizer {
  readonly hf: HfTokenizer;
  readonly style: TokenStyle;
  readonly eosId: number | null;
  readonly eosToken: string | null;
  /** sha256 of tokenizer.json + tokenizer_config.json: same hash = same tokenization. */
  readonly hash: string;
  readonly vocabSize: number;
  private readonly template: Template | null;
  private readonly prependsSpace: boolean;

  readonly dir: string;

  constructor(dir: string) {
    dir = tokenizerFolder(dir);
    this.dir = dir;
    this.hf = loadHfTokenizer(dir);
    const tjText = readFileSync(tokenizerFile(dir, 'tokenizer.json') ?? join(dir, 'tokenizer.json'), 'utf8');
    const tj = JSON.parse(tjText) as Record<string, unknown>;
    let cfgText = '';
    try {
      cfgText = readFileSync(tokenizerFile(dir, 'tokenizer_config.json') ?? join(dir, 'tokenizer_config.json'), 'utf8');
    } catch {
      /* optional */
    }
    const tpl = chatTemplateOf(dir, this.hf.config);
    this.hash = createHash('sha256').update(tjText).update('\0').update(cfgText).update('\0').update(tpl ?? '').digest('hex');
    const json = JSON.stringify([tj.pre_tokenizer, tj.decoder]);
    this.style = /ByteLevel/.test(json) ? 'byte-level' : /Metaspace|\\u2581|\u2581/.test(json) ? 'sentencepiece' : 'plain';
    this.prependsSpace = this.style === 'sentencepiece' && /"prepend_scheme":"(first|always)"|"add_prefix_space":true/.test(JSON.stringify(tj.pre_tokenizer ?? tj.normalizer));
    this.eosToken = this.hf.eosToken;
    this.eosId = this.eosToken !== null ? (this.hf.tokenizer.token_to_id(this.eosToken) ?? null) : null;
    const model = tj.model as { vocab?: Record<string, number> | unknown[] } | undefined;
    const vocab = model?.vocab;
    const added = (tj.added_tokens as Array<{ id: number }> | undefined) ?? [];
    const base = Array.isArray(vocab) ? vocab.length : vocab ? Object.keys(vocab).length : 0;
    this.vocabSize = Math.max(base, ...added.map((a) => a.id + 1));
    this.template = tpl !== null ? new Template(tpl) : null;
  }

  static load(dir: string): ModelTokenizer {
    try {
      return new ModelTokenizer(dir);
    } catch (e) {
      if (e instanceof TokenizerLoadError) throw e;
      throw new TokenizerLoadError(`${dir}: cannot load the tokenizer (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  /** The context a response is scored after: the prompt's ids, or the EOS (= BOS for GPT-2-style vocabularies)
   * when the prompt is empty, since the first token of a sequence is never predicted. */
  promptContext(promptIds: number[]): number[] {
    return promptIds.length === 0 && this.eosId !== null ? [this.eosId] : promptIds;
  }

  /**
   * The token sequence a response is scored in — its context, then its ids — and where the response starts. The one
   * rule for scoring and SPINAL: trl-legacy puts EOS before an empty prompt (promptContext); trl's encoder already
   * made the first token the context.
   */
  sequence(convention: Convention, r: EncodedResponse): { ids: number[]; respStart: number } {
    const context = convention === 'trl-legacy' ? this.promptContext(r.promptIds) : r.promptIds;
    return { ids: [...context, ...r.ids], respStart: context.length };
  }

  /**
   * Token ids and pieces of a text, without special tokens (or with the tokenizer's default ones). `first`: only the
   * first `first` tokens are needed (more are returned when there are: at least first + 1, so that a cut shows), and a
   * text over MAX_TOKENIZE_CHARS is tokenized only that far; null: all are, and such a text is a TooLongError naming
   * `what`.
   */
  encode(text: string, specialTokens = false, first: number | null = null, what = 'a text'): Encoded {
    if (text === '' && !specialTokens) return { ids: [], pieces: [], uncovered: 0 };
    if (text.length > MAX_TOKENIZE_CHARS) {
      const got = first === null ? null : this.encodeFirst(text, specialTokens, first);
      if (got) return got;
      throw new TooLongError(
        `${what} is ${text.length.toLocaleString('en-US')} characters, over PrefLens' limit of ${MAX_TOKENIZE_CHARS.toLocaleString('en-US')} for tokenizing a text whole${first === null ? ' (the convention keeps its end, or all of it: truncation_mode keep_start, or max_completion_length under trl-legacy, scores its start)' : ''}: not scored`,
      );
    }
    const e = this.hf.tokenizer.encode(text, { add_special_tokens: specialTokens });
    return { ids: e.ids, pieces: e.tokens, uncovered: 0 };
  }

  /**
   * The first `first` + 1 tokens of a long text (more when a window gives them): tokenized in prefix windows that
   * double until one gives WINDOW_MARGIN tokens beyond those and agrees on them with the next window (a window's last
   * tokens may differ from the whole text's: its end cuts a word); null when the windows outgrow MAX_TOKENIZE_CHARS.
   */
  private encodeFirst(text: string, specialTokens: boolean, first: number): Encoded | null {
    const want = first + 1;
    const window = (n: number): { e: { ids: number[]; tokens: string[] }; end: number } => {
      // never between the halves of a surrogate pair
      const end = n < text.length && text.charCodeAt(n - 1) >= 0xd800 && text.charCodeAt(n - 1) < 0xdc00 ? n - 1 : n;
      return { e: this.hf.tokenizer.encode(text.slice(0, end), { add_special_tokens: specialTokens }), end };
    };
    let n = Math.max(4096, (want + WINDOW_MARGIN) * 8);
    let prev: { e: { ids: number[]; tokens: string[] }; end: number } | null = null;
    while (n <= MAX_TOKENIZE_CHARS) {
      const cur = window(n);
      if (prev && prev.e.ids.length >= want + WINDOW_MARGIN && prev.e.ids.slice(0, want + WINDOW_MARGIN).every((id, i) => cur.e.ids[i] === id)) {
        const ids = prev.e.ids.slice(0, want + WINDOW_MARGIN);
        const pieces = prev.e.tokens.slice(0, want + WINDOW_MARGIN);
        // the bytes of the text after the tokens kept: those after the window, and those of the window's dropped tokens
        const dropped = tokenByteLengths(prev.e.tokens.slice(want + WINDOW_MARGIN), this.style).reduce((a, b) => a + b, 0);
        return { ids, pieces, uncovered: Buffer.byteLength(text, 'utf8') - Buffer.byteLength(text.slice(0, prev.end), 'utf8') + dropped };
      }
      prev = cur;
      n *= 2;
    }
    return null;
  }

  /** Encodes a response with offsets into `text` (its first `first` tokens, or all: see encode). */
  encodeResponse(text: string, first: number | null = null, what = 'a response'): { ids: number[]; starts: number[]; ends: number[]; pieces: string[] } {
    const { ids, pieces, uncovered } = this.encode(text, false, first, what);
    const lens = tokenByteLengths(pieces, this.style);
    const total = lens.reduce((s, x) => s + x, 0);
    const textBytes = Buffer.byteLength(text, 'utf8') - uncovered;
    const skip = this.prependsSpace && total === textBytes + 1 ? 1 : 0;
    const spans = tokenSpans(text, lens, skip);
    return {
      ids,
      starts: spans.map((s) => s.start),
      ends: spans.map((s) => s.end),
      pieces: spans.map((s) => text.slice(s.start, s.end)),
    };
  }

  /**
   * Renders messages with the chat template (TRL's apply_chat_template): `generation` adds the generation prompt;
   * `continue` renders a prompt that ends on an assistant turn so that the model continues it (transformers'
   * continue_final_message: the rendering is cut right after the final message's content).
   */
  renderChat(messages: Message[], mode: 'generation' | 'continue' | 'full', args: Record<string, unknown> = {}): string {
    const addGenerationPrompt = mode === 'generation';
    if (!this.template) return renderMessages(messages) + (addGenerationPrompt ? '\n\nassistant:' : '');
    const special = (k: string): string => {
      const v = this.hf.config[k];
      return typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : '';
    };
    let out: string;
    try {
      out = this.template.render({
        ...args,
        messages,
        add_generation_prompt: addGenerationPrompt,
        bos_token: special('bos_token'),
        eos_token: special('eos_token'),
        pad_token: special('pad_token'),
        unk_token: special('unk_token'),
      });
    } catch (e) {
      throw new ChatTemplateError(`the chat template cannot render this record: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (mode !== 'continue') return out;
    // transformers' continue_final_message: the final message is found by its stripped content (templates trim it)
    const last = messages.at(-1)?.content ?? '';
    const stripped = pyStrip(last, null, true, true);
    const at = out.lastIndexOf(stripped);
    if (at < 0) throw new ChatTemplateError('the prompt ends on an assistant turn, but its text does not appear in the chat template\'s rendering (continue_final_message)');
    const lstripped = pyStrip(last, null, true, false);
    return out.slice(0, at + (out.slice(at, at + lstripped.length) === last ? lstripped.length : stripped.length));
  }

  /** Whether a record is read as messages (conversational): its prompt and every response are message lists. */
  static conversational(rec: PreferenceRecord): boolean {
    return rec.promptMessages !== undefined && rec.candidates.every((c) => c.messages);
  }

  /**
   * Prompt and response texts of a record as the model sees them, and the prompt each response follows: its own
   * transcript's when chosen and rejected carry different prompts (HH), so that the text in the file is what is
   * scored. Messages are rendered with the chat template: `trl` renders the prompt with the generation prompt and each
   * prompt + response without it (TRL ≥ 0.29 tokenizes those two renderings; the response text here is for offsets);
   * `trl-legacy` renders as TRL 0.28's apply_chat_template (see the module comment).
   */
  texts(rec: PreferenceRecord, convention: Convention = 'trl-legacy'): { prompt: string; responses: string[]; responsePrompts: string[]; full?: string[] } {
    if (ModelTokenizer.conversational(rec)) {
      const pm = rec.promptMessages ?? [];
      const lastRole = pm.at(-1)?.role;
      const full = rec.candidates.map((c) => this.renderChat([...pm, ...(c.messages ?? [])], 'full', rec.templateArgs));
      if (convention === 'trl') {
        // TRL ≥ 0.29: the prompt always with the generation prompt (never continue_final_message)
        const prompt = this.renderChat(pm, 'generation', rec.templateArgs);
        const responses = full.map((f) => (f.startsWith(prompt) ? f.slice(prompt.length) : f.slice(commonPrefixLength(f, prompt))));
        return { prompt, responses, responsePrompts: responses.map(() => prompt), full };
      }
      // TRL 0.28: the generation prompt after a user or tool turn, continue_final_message after an assistant turn
      if (lastRole !== undefined && lastRole !== 'user' && lastRole !== 'tool' && lastRole !== 'assistant')
        throw new ChatTemplateError(`the prompt ends on a "${lastRole}" turn: TRL 0.28 renders prompts that end on a user, tool or assistant turn`);
      let prompt = this.renderChat(pm, lastRole === 'assistant' ? 'continue' : 'generation', rec.templateArgs);
      // … cut back to its common prefix with each rendered prompt + response in turn (DeepSeek-R1's <think>, Qwen3's
      // empty think block), each response taken after the prompt as it was cut so far
      const responses = full.map((f) => {
        prompt = prompt.slice(0, commonPrefixLength(prompt, f));
        return f.slice(prompt.length);
      });
      return { prompt, responses, responsePrompts: responses.map(() => prompt) };
    }
    const own = (i: number): string => (rec.kind === 'pair' && i === 1 && rec.rejectedPrompt !== undefined ? rec.rejectedPrompt : rec.prompt);
    return { prompt: rec.prompt, responses: rec.candidates.map((c) => c.text), responsePrompts: rec.candidates.map((_, i) => own(i)) };
  }

  /** A prompt's ids, keeping its last `max` tokens (TRL max_prompt_length). */
  private encodePrompt(text: string, max: number | null): { ids: number[]; truncated: boolean } {
    const ids = this.encode(text, false, null, 'the prompt').ids;
    return max !== null && ids.length > max ? { ids: ids.slice(ids.length - max), truncated: true } : { ids, truncated: false };
  }

  /** The record's token ids under `limits.convention` (trl-legacy when not given). */
  encodeRecord(rec: PreferenceRecord, limits: LengthLimits): EncodedRecord {
    const convention = limits.convention ?? 'trl-legacy';
    try {
      return convention === 'trl' ? this.encodeTrl(rec, limits) : this.encodeLegacy(rec, limits);
    } catch (e) {
      // A record the template cannot render is reported on its line; the rest of the file is scored.
      if (e instanceof ChatTemplateError || e instanceof TooLongError) return { convention, promptText: rec.prompt, promptIds: [], promptTruncated: false, responses: [], skipped: e.message };
      throw e;
    }
  }

  /**
   * TRL ≥ 0.29: the prompt and prompt + response are tokenized jointly (non-conversational: the tokenizer's default
   * special tokens, the EOS token's text appended to the response unless it ends with it; conversational: the chat
   * template's rendering, no extra EOS), response ids = joint[len(prompt):]; the sequence is cut to max_length
   * keeping its start (a record whose prompt alone fills it is dropped) or its end. The first token of a sequence is
   * never predicted: with an empty prompt it becomes the context.
   */
  private encodeTrl(rec: PreferenceRecord, limits: LengthLimits): EncodedRecord {
    const { prompt, responses, responsePrompts, full } = this.texts(rec, 'trl');
    const conversational = ModelTokenizer.conversational(rec);
    const maxLength = limits.maxLength === undefined ? TRL_DEFAULTS.maxLength : limits.maxLength;
    const mode = limits.truncationMode ?? TRL_DEFAULTS.truncationMode;
    const eos = this.eosToken ?? '';
    let skipped: string | undefined;
    // keep_start needs a sequence's first max_length tokens only (a prompt of more is dropped); keep_end all of them
    const needed = maxLength !== null && mode === 'keep_start' ? maxLength : null;
    const prompts = new Map<string, number[]>();
    const partial = new Set<number[]>(); // prompts tokenized only as far as max_length and beyond
    const promptIdsOf = (text: string): number[] => {
      let ids = prompts.get(text);
      if (!ids) {
        const e = this.encode(text, !conversational, needed, 'the prompt');
        ids = e.ids;
        if (e.uncovered) partial.add(ids);
        prompts.set(text, ids);
      }
      return ids;
    };
    const out: EncodedResponse[] = responses.map((text, i) => {
      const p = responsePrompts[i];
      const tail = !conversational && eos && !text.endsWith(eos) ? eos : '';
      let promptIds = promptIdsOf(p);
      // conversational: the template's rendering of prompt + response (not the prompt's rendering + the rest)
      const role = rec.candidates[i]?.role ?? `response ${i + 1}`;
      const joint = this.encode(full ? full[i] : p + text + tail, !conversational, needed, `prompt + ${role}`);
      const notPrefix = promptIds.some((id, k) => joint.ids[k] !== id);
      let ids = joint.ids.slice(promptIds.length);
      const pieces = joint.pieces.slice(promptIds.length);
      // Offsets into the response: the response tokens end where the joint text ends.
      const lens = tokenByteLengths(pieces, this.style);
      const respBytes = lens.reduce((a, b) => a + b, 0);
      const lead = Buffer.byteLength(text + tail, 'utf8') - joint.uncovered - respBytes; // < 0: the first token starts in the prompt
      let spans = tokenSpans(text + tail, lens, -lead).map((sp) => ({ start: Math.min(sp.start, text.length), end: Math.min(sp.end, text.length) }));
      let truncated = false;
      let promptTruncated = false;
      if (maxLength !== null && promptIds.length + ids.length > maxLength) {
        if (mode === 'keep_start') {
          if (promptIds.length >= maxLength) skipped ??= `the prompt alone is ${partial.has(promptIds) ? `over ${maxLength}` : promptIds.length} tokens, max_length is ${maxLength}: TRL drops this record (truncation_mode keep_start)`;
          const keep = Math.max(0, maxLength - promptIds.length);
          ids = ids.slice(0, keep);
          spans = spans.slice(0, keep);
          truncated = true;
        } else {
          const cut = promptIds.length + ids.length - maxLength;
          promptTruncated = cut > 0;
          const fromResponse = Math.max(0, cut - promptIds.length);
          promptIds = promptIds.slice(Math.min(cut, promptIds.length));
          ids = ids.slice(fromResponse);
          spans = spans.slice(fromResponse);
          truncated = fromResponse > 0;
        }
      }
      if (promptIds.length === 0 && ids.length > 0) {
        // Nothing precedes the first response token: it is the context, not a prediction.
        promptIds = ids.slice(0, 1);
        ids = ids.slice(1);
        spans = spans.slice(1);
      }
      const r: EncodedResponse = {
        promptIds,
        promptTruncated,
        text,
        ids,
        starts: spans.map((sp) => Math.max(0, sp.start)),
        ends: spans.map((sp) => Math.max(0, sp.end)),
        pieces: spans.map((sp) => text.slice(Math.max(0, sp.start), Math.max(0, sp.end)) || (sp.start === text.length ? tail : '')),
        truncated,
      };
      if (notPrefix) r.notPrefix = true;
      return r;
    });
    const first = out[0];
    const rec0: EncodedRecord = { convention: 'trl', promptText: prompt, promptIds: first?.promptIds ?? promptIdsOf(prompt), promptTruncated: first?.promptTruncated ?? false, responses: out };
    if (skipped) rec0.skipped = skipped;
    const which = out.map((r, i): string | null => (r.notPrefix ? (rec.candidates[i]?.role ?? `response ${i + 1}`) : null)).filter((x): x is string => x !== null);
    if (which.length)
      rec0.warning = `the prompt's token ids are not a prefix of prompt + ${which.join(' and prompt + ')}'s: TRL warns ("Mismatch between tokenized prompt and the start of tokenized prompt+${which[0]}") and takes the response's ids after the prompt's length, as here`;
    return rec0;
  }

  /** TRL ≤ 0.28 tokenize_row: prompt (keeps its end) + each response with EOS (keeps its start), each after its own prompt. */
  private encodeLegacy(rec: PreferenceRecord, limits: LengthLimits): EncodedRecord {
    const { prompt, responses, responsePrompts } = this.texts(rec, 'trl-legacy');
    // A chat template ends each turn with its own end token: only non-conversational responses get the EOS.
    const conversational = ModelTokenizer.conversational(rec);
    const maxLength = limits.maxLength ?? null;
    const mode = limits.truncationMode ?? TRL_LEGACY_DEFAULTS.truncationMode;
    const prompts = new Map<string, { ids: number[]; truncated: boolean }>();
    const promptOf = (text: string): { ids: number[]; truncated: boolean } => {
      let p = prompts.get(text);
      if (!p) {
        p = this.encodePrompt(text, limits.maxPromptLength);
        prompts.set(text, p);
      }
      return p;
    };
    const first = promptOf(prompt);
    // a response's first tokens suffice when it is cut to max_completion_length, or the sequence keeps its start
    const needed = limits.maxCompletionLength ?? (maxLength !== null && mode === 'keep_start' ? maxLength : null);
    const out: EncodedResponse[] = responses.map((text, i) => {
      const r = this.encodeResponse(text, needed, `the ${rec.candidates[i]?.role ?? `response ${i + 1}`}`);
      const ids = [...r.ids];
      const starts = [...r.starts];
      const ends = [...r.ends];
      const pieces = [...r.pieces];
      if (this.eosId !== null && !conversational) {
        ids.push(this.eosId);
        starts.push(text.length);
        ends.push(text.length);
        pieces.push(this.eosToken ?? '');
      }
      let truncated = false;
      if (limits.maxCompletionLength !== null && ids.length > limits.maxCompletionLength) {
        const n = limits.maxCompletionLength;
        ids.length = n;
        starts.length = n;
        ends.length = n;
        pieces.length = n;
        truncated = true;
      }
      const p = promptOf(responsePrompts[i]);
      let promptIds = p.ids;
      let promptTruncated = p.truncated;
      // TRL 0.28's forward pass: prompt + response cut to max_length, keeping its end (the default) or its start
      if (maxLength !== null && promptIds.length + ids.length > maxLength) {
        if (mode === 'keep_end') {
          const cut = promptIds.length + ids.length - maxLength;
          const fromResponse = Math.max(0, cut - promptIds.length);
          if (cut > 0) promptTruncated = true;
          promptIds = promptIds.slice(Math.min(cut, promptIds.length));
          for (const a of [ids, starts, ends, pieces]) a.splice(0, fromResponse);
          if (fromResponse) truncated = true;
        } else {
          const keep = Math.max(0, maxLength - promptIds.length);
          promptIds = promptIds.slice(0, maxLength);
          for (const a of [ids, starts, ends, pieces]) a.length = Math.min(a.length, keep);
          truncated = true;
        }
      }
      return { promptIds, promptTruncated, text, ids, starts, ends, pieces, truncated };
    });
    return { convention: 'trl-legacy', promptText: prompt, promptIds: out[0]?.promptIds ?? first.ids, promptTruncated: out[0]?.promptTruncated ?? first.truncated, responses: out };
  }
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
