/** Loads a model folder's tokenizer.json + tokenizer_config.json with @huggingface/tokenizers. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TokenCounter } from './counter.js';
import { isHubId, locateModel, readJsonObject, resolveModelFile } from '../hub.js';
import { TokenizerLoadError } from '../errors.js';


export interface HfTokenizer extends TokenCounter {
  readonly tokenizer: Tokenizer;
  readonly config: Record<string, unknown>;
  readonly eosToken: string | null;
}

/** A file of a tokenizer folder, following hub-cache links (engine/hub.ts); null when absent. */
export function tokenizerFile(dir: string, name: string): string | null {
  const p = join(dir, name);
  if (!existsSync(p)) return null;
  try {
    return resolveModelFile(p);
  } catch (e) {
    throw new TokenizerLoadError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * The chat template: `chat_template.jinja` (transformers' current layout), else tokenizer_config.json's
 * `chat_template` (a string, or a list of named templates, of which `default` is used).
 */
export function chatTemplateOf(dir: string, cfg: Record<string, unknown>): string | null {
  const file = tokenizerFile(dir, 'chat_template.jinja');
  if (file) return readFileSync(file, 'utf8');
  const t = cfg.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t as Array<{ name?: unknown; template?: unknown }>;
    const d = named.find((x) => x?.name === 'default') ?? (named.length === 1 ? named[0] : undefined);
    return typeof d?.template === 'string' ? d.template : null;
  }
  return null;
}

/**
 * The folder whose tokenizer a model uses: its own, or for a LoRA adapter saved without one, its base's (a folder
 * or a hub id in the local hub cache); a hub id is looked up there too.
 */
export function tokenizerFolder(dir: string): string {
  if (existsSync(join(dir, 'tokenizer.json'))) return dir;
  const ad = join(dir, 'adapter_config.json');
  try {
    if (existsSync(ad)) {
      const base = readJsonObject(ad, 'adapter_config.json', TokenizerLoadError).base_model_name_or_path;
      if (typeof base === 'string' && base) return locateModel(base, dir).dir;
    } else if (!existsSync(dir) && isHubId(dir)) return locateModel(dir).dir;
  } catch (e) {
    throw new TokenizerLoadError(e instanceof Error ? e.message : String(e));
  }
  return dir;
}

/** The longest text the dataset checks tokenize in one piece. */
const PIECE = 1 << 20;

/**
 * A text cut for counting its tokens in bounded memory: whole up to PIECE characters, else in pieces of about PIECE
 * cut before a space (where byte-level pre-tokenizers split anyway: the counts add up to the whole text's, ± a token
 * at a cut for other tokenizers). The checks' counts only; scoring tokenizes as the trainer does (encoder.ts).
 */
function pieces(s: string): string[] {
  if (s === '') return [];
  if (s.length <= PIECE) return [s];
  const out: string[] = [];
  let at = 0;
  while (at < s.length) {
    let end = Math.min(s.length, at + PIECE);
    if (end < s.length) {
      const space = s.lastIndexOf(' ', end);
      if (space > at + PIECE / 2) end = space;
      else if (s.charCodeAt(end - 1) >= 0xd800 && s.charCodeAt(end - 1) < 0xdc00) end--;
    }
    out.push(s.slice(at, end));
    at = end;
  }
  return out;
}

export function loadHfTokenizer(dir: string): HfTokenizer {
  dir = tokenizerFolder(dir);
  const tjPath = join(dir, 'tokenizer.json');
  if (!existsSync(tjPath)) throw new TokenizerLoadError(`${dir}: no tokenizer.json in this folder`);
  const tj = readJsonObject(tjPath, 'tokenizer.json', TokenizerLoadError);
  const cfgPath = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgPath) ? readJsonObject(cfgPath, 'tokenizer_config.json', TokenizerLoadError) : {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tj, cfg);
  } catch (e) {
    throw new TokenizerLoadError(`${tjPath}: cannot build the tokenizer (${e instanceof Error ? e.message : String(e)})`);
  }
  const eos = cfg.eos_token;
  const eosToken = typeof eos === 'string' ? eos : typeof eos === 'object' && eos !== null && typeof (eos as { content?: unknown }).content === 'string' ? (eos as { content: string }).content : null;
  return {
    name: `tokenizer.json in ${dir}`,
    tokenizer,
    config: cfg,
    eosToken,
    special: { prompt: tokenizer.encode('', { add_special_tokens: true }).ids.length, response: eosToken !== null ? 1 : 0 },
    count: (s: string) => pieces(s).reduce((n, p) => n + tokenizer.encode(p, { add_special_tokens: false }).ids.length, 0),
    ids: (s: string) => pieces(s).flatMap((p) => tokenizer.encode(p, { add_special_tokens: false }).ids),
  };
}
