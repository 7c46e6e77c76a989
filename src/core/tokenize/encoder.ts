/**
 * Tokenization as TRL's DPO trainer does it (docs/ARCHITECTURE.md, "Metric conventions"): the prompt and each response are tokenized
 * separately without special tokens; the EOS token of tokenizer_config.json is appended to each response; with
 * max lengths, the prompt keeps its last tokens and the response its first. Conversational records are rendered
 * with the tokenizer's chat template (@huggingface/jinja) the way TRL does: prompt = template(prompt messages,
 * add_generation_prompt=True); completion = template(prompt + completion messages) minus the prompt's rendering.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { loadHfTokenizer, type HfTokenizer, TokenizerLoadError } from './hf.js';
import { tokenByteLengths, tokenSpans, type TokenStyle } from './offsets.js';
import type { Message, PreferenceRecord } from '../types.js';
import { renderMessages } from '../formats/normalize.js';

export interface EncodedResponse {
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
  promptText: string;
  promptIds: number[];
  promptTruncated: boolean;
  responses: EncodedResponse[];
}

export interface LengthLimits {
  maxPromptLength: number | null;
  maxCompletionLength: number | null;
}

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

  constructor(readonly dir: string) {
    this.hf = loadHfTokenizer(dir);
    const tjText = readFileSync(join(dir, 'tokenizer.json'), 'utf8');
    const tj = JSON.parse(tjText) as Record<string, unknown>;
    let cfgText = '';
    try {
      cfgText = readFileSync(join(dir, 'tokenizer_config.json'), 'utf8');
    } catch {
      /* optional */
    }
    this.hash = createHash('sha256').update(tjText).update('\0').update(cfgText).digest('hex');
    const json = JSON.stringify([tj.pre_tokenizer, tj.decoder]);
    this.style = /ByteLevel/.test(json) ? 'byte-level' : /Metaspace|\\u2581|▁/.test(json) ? 'sentencepiece' : 'plain';
    this.prependsSpace = this.style === 'sentencepiece' && /"prepend_scheme":"(first|always)"|"add_prefix_space":true/.test(JSON.stringify(tj.pre_tokenizer ?? tj.normalizer));
    this.eosToken = this.hf.eosToken;
    this.eosId = this.eosToken !== null ? (this.hf.tokenizer.token_to_id(this.eosToken) ?? null) : null;
    const model = tj.model as { vocab?: Record<string, number> | unknown[] } | undefined;
    const vocab = model?.vocab;
    const added = (tj.added_tokens as Array<{ id: number }> | undefined) ?? [];
    const base = Array.isArray(vocab) ? vocab.length : vocab ? Object.keys(vocab).length : 0;
    this.vocabSize = Math.max(base, ...added.map((a) => a.id + 1));
    const tpl = this.hf.config.chat_template;
    this.template = typeof tpl === 'string' ? new Template(tpl) : null;
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

  /** Token ids and pieces of a text, without special tokens. */
  encode(text: string): { ids: number[]; pieces: string[] } {
    if (text === '') return { ids: [], pieces: [] };
    const e = this.hf.tokenizer.encode(text, { add_special_tokens: false });
    return { ids: e.ids, pieces: e.tokens };
  }

  /** Encodes a response with offsets into `text`. */
  encodeResponse(text: string): { ids: number[]; starts: number[]; ends: number[]; pieces: string[] } {
    const { ids, pieces } = this.encode(text);
    const lens = tokenByteLengths(pieces, this.style);
    const total = lens.reduce((s, x) => s + x, 0);
    const textBytes = Buffer.byteLength(text, 'utf8');
    const skip = this.prependsSpace && total === textBytes + 1 ? 1 : 0;
    const spans = tokenSpans(text, lens, skip);
    return {
      ids,
      starts: spans.map((s) => s.start),
      ends: spans.map((s) => s.end),
      pieces: spans.map((s) => text.slice(s.start, s.end)),
    };
  }

  renderChat(messages: Message[], addGenerationPrompt: boolean): string {
    if (!this.template) return renderMessages(messages) + (addGenerationPrompt ? '\n\nassistant:' : '');
    const special = (k: string): string => {
      const v = this.hf.config[k];
      return typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : '';
    };
    return this.template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: special('bos_token'),
      eos_token: special('eos_token'),
      pad_token: special('pad_token'),
      unk_token: special('unk_token'),
    });
  }

  /** Prompt and response texts of a record as the model sees them (chat template for message records). */
  texts(rec: PreferenceRecord): { prompt: string; responses: string[] } {
    if (rec.promptMessages && rec.candidates.every((c) => c.messages)) {
      const prompt = this.renderChat(rec.promptMessages, true);
      const responses = rec.candidates.map((c) => {
        const full = this.renderChat([...(rec.promptMessages ?? []), ...(c.messages ?? [])], false);
        // TRL: completion = rendering of the whole conversation minus the prompt's rendering.
        return full.startsWith(prompt) ? full.slice(prompt.length) : full.slice(commonPrefixLength(full, prompt));
      });
      return { prompt, responses };
    }
    return { prompt: rec.prompt, responses: rec.candidates.map((c) => c.text) };
  }

  /** TRL tokenize_row: prompt (keeps its end) + each response with EOS (keeps its start). */
  encodeRecord(rec: PreferenceRecord, limits: LengthLimits): EncodedRecord {
    const { prompt, responses } = this.texts(rec);
    let promptIds = this.encode(prompt).ids;
    let promptTruncated = false;
    if (limits.maxPromptLength !== null && promptIds.length > limits.maxPromptLength) {
      promptIds = promptIds.slice(promptIds.length - limits.maxPromptLength);
      promptTruncated = true;
    }
    const out: EncodedResponse[] = responses.map((text) => {
      const r = this.encodeResponse(text);
      const ids = [...r.ids];
      const starts = [...r.starts];
      const ends = [...r.ends];
      const pieces = [...r.pieces];
      if (this.eosId !== null) {
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
      return { text, ids, starts, ends, pieces, truncated };
    });
    return { promptText: prompt, promptIds, promptTruncated, responses: out };
  }
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
