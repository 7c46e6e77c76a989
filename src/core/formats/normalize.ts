/**
 * Format detection and normalisation of parsed JSON records to PreferenceRecord (docs/ARCHITECTURE.md, "Formats").
 * Errors name the field: they are thrown as FieldError and turned into "line N, field F: …" by the caller.
 */
import type { Candidate, FormatName, Message, PreferenceRecord, RecordKind } from '../types.js';
import { InputError } from '../errors.js';
import { dict } from '../dict.js';

export class FieldError extends InputError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

export const HH_ASSISTANT = '\n\nAssistant:';

export function isMessageList(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((m) => isObj(m) && ('role' in m || 'from' in m) && ('content' in m || 'value' in m))
  );
}

export function isStr(v: unknown): v is string {
  return typeof v === 'string';
}

export function hasAll(o: Obj, keys: string[]): boolean {
  return keys.every((k) => k in o);
}


// ---------- message helpers ----------

/** ShareGPT's speaker names as roles (a Map: a role read from a file may be "constructor"). */
const SHAREGPT_ROLES: ReadonlyMap<string, string> = new Map([
  ['human', 'user'],
  ['user', 'user'],
  ['gpt', 'assistant'],
  ['assistant', 'assistant'],
  ['system', 'system'],
  ['observation', 'observation'],
  ['function_call', 'function_call'],
  ['tool', 'tool'],
]);

function contentText(c: Json | undefined, field: string): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    // typed parts: [{type: "text", text|value}]
    const parts: string[] = [];
    c.forEach((p, i) => {
      if (typeof p === 'string') parts.push(p);
      else if (isObj(p)) {
        const t = p.text ?? p.value ?? p.content;
        if (typeof t === 'string') parts.push(t);
        else if (p.type === 'text') throw new FieldError(`${field}[${i}]`, 'text part without a string "text"/"value"');
      } else throw new FieldError(`${field}[${i}]`, `expected a content part, got ${typeName(p)}`);
    });
    return parts.join('');
  }
  if (c === null || c === undefined) return '';
  throw new FieldError(field, `expected a string or a list of content parts, got ${typeName(c)}`);
}

function toMessage(m: Json, field: string): Message {
  if (!isObj(m)) throw new FieldError(field, `expected a message object, got ${typeName(m)}`);
  const roleRaw = m.role ?? m.from;
  if (typeof roleRaw !== 'string') throw new FieldError(field, 'message without a string "role" (or "from")');
  const role = SHAREGPT_ROLES.get(roleRaw) ?? roleRaw;
  if (!('content' in m) && !('value' in m)) throw new FieldError(`${field}.${'from' in m ? 'value' : 'content'}`, 'missing');
  const content = contentText('content' in m ? m.content : m.value, `${field}.${'content' in m ? 'content' : 'value'}`);
  return { role, content };
}

function toMessages(v: Json | undefined, field: string): Message[] {
  if (v === undefined) throw new FieldError(field, 'missing');
  if (!Array.isArray(v)) throw new FieldError(field, `expected a list of messages, got ${typeName(v)}`);
  return v.map((m, i) => toMessage(m, `${field}[${i}]`));
}

export function renderMessages(ms: Message[]): string {
  return ms.map((m) => `${m.role}: ${m.content}`).join('\n\n');
}

function messagesEqual(a: Message, b: Message): boolean {
  return a.role === b.role && a.content === b.content;
}

/** Responses from message lists: the trailing non-user turns. */
function responseText(ms: Message[]): string {
  return ms
    .filter((m) => m.role !== 'user' && m.role !== 'system')
    .map((m) => m.content)
    .join('\n\n');
}

function str(v: Json | undefined, field: string, allowMissing = false): string {
  if (typeof v === 'string') return v;
  if (v === undefined) {
    if (allowMissing) return '';
    throw new FieldError(field, 'missing');
  }
  throw new FieldError(field, `expected a string, got ${typeName(v)}`);
}

function num(v: Json | undefined, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw new FieldError(field, `expected a number, got ${typeName(v)}`);
}

// ---------- per-format normalisers ----------

type Base = Pick<PreferenceRecord, 'index' | 'line' | 'offset'>;

function make(
  base: Base,
  format: FormatName,
  kind: RecordKind,
  prompt: string,
  candidates: Candidate[],
  extra: Partial<PreferenceRecord> = {},
): PreferenceRecord {
  const r: PreferenceRecord = { index: base.index, line: base.line, offset: base.offset, format, kind, prompt, candidates };
  if (extra.promptMessages !== undefined) r.promptMessages = extra.promptMessages;
  if (extra.label !== undefined) r.label = extra.label;
  if (extra.tie !== undefined) r.tie = extra.tie;
  if (extra.rejectedPrompt !== undefined) r.rejectedPrompt = extra.rejectedPrompt;
  return r;
}

/** `tools` and `chat_template_kwargs` of a conversational record, as TRL passes them to the chat template. */
function templateArgs(o: Obj): Record<string, unknown> | undefined {
  const out = dict<unknown>();
  if (o.tools !== undefined && o.tools !== null) {
    let tools: unknown = o.tools;
    if (typeof tools === 'string') {
      try {
        tools = JSON.parse(tools);
      } catch (e) {
        throw new FieldError('tools', `a JSON string that does not parse (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    if (!Array.isArray(tools)) throw new FieldError('tools', `expected a list of tools, got ${typeName(tools)}`);
    out.tools = tools;
  }
  if (o.chat_template_kwargs !== undefined && o.chat_template_kwargs !== null) {
    if (!isObj(o.chat_template_kwargs)) throw new FieldError('chat_template_kwargs', `expected an object, got ${typeName(o.chat_template_kwargs)}`);
    Object.assign(out, o.chat_template_kwargs);
  }
  return Object.keys(out).length ? out : undefined;
}

function splitHH(t: string): [string, string] {
  const i = t.lastIndexOf(HH_ASSISTANT);
  if (i === -1) return ['', t];
  const cut = i + HH_ASSISTANT.length;
  return [t.slice(0, cut), t.slice(cut)];
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // Do not split a surrogate pair.
  if (i > 0 && i < n && a.charCodeAt(i - 1) >= 0xd800 && a.charCodeAt(i - 1) <= 0xdbff) i--;
  return i;
}

function normHH(o: Obj, base: Base): PreferenceRecord {
  const c = str(o.chosen, 'chosen');
  const r = str(o.rejected, 'rejected');
  const [pc, rc] = splitHH(c);
  const [pr, rr] = splitHH(r);
  if (!pc) throw new FieldError('chosen', 'no "\\n\\nAssistant:" turn in the transcript');
  if (!pr) throw new FieldError('rejected', 'no "\\n\\nAssistant:" turn in the transcript');
  return make(
    base,
    'hh',
    'pair',
    pc,
    [
      { role: 'chosen', text: rc, field: 'chosen' },
      { role: 'rejected', text: rr, field: 'rejected' },
    ],
    pc !== pr ? { rejectedPrompt: pr } : {},
  );
}

function normTrlStandard(o: Obj, base: Base): PreferenceRecord {
  const c = str(o.chosen, 'chosen');
  const r = str(o.rejected, 'rejected');
  const sc = num(o.score_chosen, 'score_chosen');
  const sr = num(o.score_rejected, 'score_rejected');
  let prompt: string;
  let ct = c;
  let rt = r;
  let extra: Partial<PreferenceRecord> = {};
  if ('prompt' in o) prompt = str(o.prompt, 'prompt');
  else {
    // Implicit prompt: the common prefix of the two texts; a space just before the first difference goes to the
    // completions (TRL's extract_prompt). With no difference (one text is the other, or its start) TRL's loop runs to
    // its end and keeps the last common character as the completions' start.
    let n = commonPrefix(c, r);
    const min = Math.min(c.length, r.length);
    if (n > 0 && n < min && c[n - 1] === ' ') n--;
    else if (n === min && min > 0) n = min - 1;
    prompt = c.slice(0, n);
    ct = c.slice(n);
    rt = r.slice(n);
    extra = {};
  }
  return make(
    base,
    'trl-standard',
    'pair',
    prompt,
    [
      { role: 'chosen', text: ct, field: 'chosen', ...(sc !== undefined ? { score: sc } : {}) },
      { role: 'rejected', text: rt, field: 'rejected', ...(sr !== undefined ? { score: sr } : {}) },
    ],
    extra,
  );
}

/** Splits two whole conversations into the shared prompt and the two continuations. */
function splitImplicit(
  cm: Message[],
  rm: Message[],
): { prompt: Message[]; chosen: Message[]; rejected: Message[]; mismatch: boolean } {
  let n = 0;
  while (n < cm.length && n < rm.length && messagesEqual(cm[n], rm[n])) n++;
  // The prompt ends before the first turn that differs; never include a differing turn. With no difference (equal
  // conversations, or one the start of the other) TRL's extract_prompt keeps the last common message as the
  // completions: an identical pair, not an empty one.
  if (n === Math.min(cm.length, rm.length) && n > 0) n--;
  const prompt = cm.slice(0, n);
  // Each side's own prompt: everything before its last run of assistant turns.
  const ownPrompt = (ms: Message[]): number => {
    let k = ms.length;
    while (k > 0 && ms[k - 1].role !== 'user' && ms[k - 1].role !== 'system') k--;
    return k;
  };
  const mismatch = ownPrompt(cm) !== n || ownPrompt(rm) !== n;
  return { prompt, chosen: cm.slice(n), rejected: rm.slice(n), mismatch };
}

function pairFromMessages(
  base: Base,
  format: FormatName,
  prompt: Message[],
  chosen: Message[],
  rejected: Message[],
  fields: [string, string],
  extra: Partial<PreferenceRecord> = {},
): PreferenceRecord {
  return make(
    base,
    format,
    'pair',
    renderMessages(prompt),
    [
      { role: 'chosen', text: responseText(chosen), messages: chosen, field: fields[0] },
      { role: 'rejected', text: responseText(rejected), messages: rejected, field: fields[1] },
    ],
    { promptMessages: prompt, ...extra },
  );
}

function normTrlConversational(o: Obj, base: Base): PreferenceRecord {
  const rec = normTrlConversationalPair(o, base);
  // UltraFeedback-binarized's ratings, for the score checks (as in TRL standard pairs)
  const sc = num(o.score_chosen, 'score_chosen');
  const sr = num(o.score_rejected, 'score_rejected');
  if (sc !== undefined) rec.candidates[0].score = sc;
  if (sr !== undefined) rec.candidates[1].score = sr;
  const args = templateArgs(o);
  if (args) rec.templateArgs = args;
  return rec;
}

function normTrlConversationalPair(o: Obj, base: Base): PreferenceRecord {
  // A string prompt beside whole conversations (UltraFeedback-binarized): TRL's maybe_extract_prompt ignores it
  // and takes the conversations' shared prefix, so the user turn is not scored twice.
  const implicit = 'prompt' in o && typeof o.prompt === 'string' && isMessageList(o.chosen) && isMessageList(o.rejected);
  if ('prompt' in o && !implicit) {
    const p = typeof o.prompt === 'string' ? [{ role: 'user', content: o.prompt }] : toMessages(o.prompt, 'prompt');
    const c = toMessages(o.chosen, 'chosen');
    const r = toMessages(o.rejected, 'rejected');
    return pairFromMessages(base, 'trl-conversational', p, c, r, ['chosen', 'rejected']);
  }
  const cm = toMessages(o.chosen, 'chosen');
  const rm = toMessages(o.rejected, 'rejected');
  const s = splitImplicit(cm, rm);
  return pairFromMessages(base, 'trl-conversational', s.prompt, s.chosen, s.rejected, ['chosen', 'rejected'], mismatchExtra(s, cm, rm));
}

function mismatchExtra(
  s: { mismatch: boolean },
  cm: Message[],
  rm: Message[],
): Partial<PreferenceRecord> {
  if (!s.mismatch) return {};
  const own = (ms: Message[]): Message[] => {
    let k = ms.length;
    while (k > 0 && ms[k - 1].role !== 'user' && ms[k - 1].role !== 'system') k--;
    return ms.slice(0, k);
  };
  const a = renderMessages(own(cm));
  const b = renderMessages(own(rm));
  return a !== b ? { rejectedPrompt: b } : {};
}

function sharegptTurn(v: Json | undefined, field: string): Message[] {
  if (v === undefined) throw new FieldError(field, 'missing');
  if (isObj(v)) return [toMessage(v, field)];
  if (Array.isArray(v)) return toMessages(v, field);
  if (typeof v === 'string') return [{ role: 'assistant', content: v }];
  throw new FieldError(field, `expected a message object or a list of messages, got ${typeName(v)}`);
}

function normSharegpt(o: Obj, base: Base): PreferenceRecord {
  if ('chosen_messages' in o || 'rejected_messages' in o) {
    const cm = toMessages(o.chosen_messages, 'chosen_messages');
    const rm = toMessages(o.rejected_messages, 'rejected_messages');
    const s = splitImplicit(cm, rm);
    return pairFromMessages(base, 'sharegpt', s.prompt, s.chosen, s.rejected, ['chosen_messages', 'rejected_messages'], mismatchExtra(s, cm, rm));
  }
  const conv = toMessages(o.conversations, 'conversations');
  const prompt: Message[] = [];
  if (typeof o.system === 'string' && o.system !== '') prompt.push({ role: 'system', content: o.system });
  for (const m of conv) prompt.push(m);
  return pairFromMessages(base, 'sharegpt', prompt, sharegptTurn(o.chosen, 'chosen'), sharegptTurn(o.rejected, 'rejected'), ['chosen', 'rejected']);
}

function bool(v: Json | undefined, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (v === 'true' || v === 'false') return v === 'true';
  if (v === undefined) throw new FieldError(field, 'missing');
  throw new FieldError(field, `expected a boolean, got ${typeName(v)}`);
}

function normKto(o: Obj, base: Base): PreferenceRecord {
  // LLaMA-Factory's kto_tag must be a JSON boolean (its loader takes nothing else).
  if ('kto_tag' in o && typeof o.kto_tag !== 'boolean') throw new FieldError('kto_tag', `expected true or false, got ${typeName(o.kto_tag)}`);
  const label = 'kto_tag' in o ? o.kto_tag === true : bool(o.label, 'label');
  if ('completion' in o) {
    if (Array.isArray(o.completion) || Array.isArray(o.prompt)) {
      const p = typeof o.prompt === 'string' ? [{ role: 'user', content: o.prompt }] : toMessages(o.prompt, 'prompt');
      const c = toMessages(o.completion, 'completion');
      return make(base, 'kto', 'unpaired', renderMessages(p), [{ role: 'completion', text: responseText(c), messages: c, field: 'completion' }], {
        label,
        promptMessages: p,
      });
    }
    return make(base, 'kto', 'unpaired', str(o.prompt, 'prompt'), [{ role: 'completion', text: str(o.completion, 'completion'), field: 'completion' }], { label });
  }
  const key = 'messages' in o ? 'messages' : 'conversations';
  const ms = toMessages(o[key], key);
  let k = ms.length;
  while (k > 0 && ms[k - 1].role === 'assistant') k--;
  if (k === ms.length) throw new FieldError(`${key}[${ms.length - 1}]`, 'the conversation does not end with an assistant turn (the completion)');
  const p = ms.slice(0, k);
  const c = ms.slice(k);
  return make(base, 'kto', 'unpaired', renderMessages(p), [{ role: 'completion', text: responseText(c), messages: c, field: `${key}[${k}]` }], {
    label,
    promptMessages: p,
  });
}

function normPairwise(o: Obj, base: Base): PreferenceRecord {
  if ('response_j' in o) {
    // Stack Exchange paired: response_j is preferred over response_k (by the field names).
    const prompt = str(o.question ?? o.prompt, 'question');
    return make(base, 'pairwise-index', 'pair', prompt, [
      { role: 'chosen', text: str(o.response_j, 'response_j'), field: 'response_j' },
      { role: 'rejected', text: str(o.response_k, 'response_k'), field: 'response_k' },
    ]);
  }
  let a: [string, string];
  let prompt: string;
  let pref: number | undefined;
  if ('output_1' in o) {
    a = ['output_1', 'output_2'];
    prompt = str(o.instruction ?? o.prompt, 'instruction') + (typeof o.input === 'string' && o.input ? `\n\n${o.input}` : '');
    pref = num(o.preference, 'preference');
    if (pref === undefined) throw new FieldError('preference', 'missing');
    // AlpacaEval: 1 or 2 (fractional = soft preference; 0 or 1.5 = tie).
  } else if ('human_ref_A' in o) {
    a = ['human_ref_A', 'human_ref_B'];
    prompt = str(o.history ?? o.prompt, 'history');
    const l = num(o.labels, 'labels');
    if (l === undefined) throw new FieldError('labels', 'missing');
    pref = l === 1 ? 1 : 2;
  } else {
    a = ['response_0', 'response_1'];
    prompt = str(o.prompt, 'prompt');
    const id = num(o.better_response_id ?? o.safer_response_id, 'better_response_id');
    if (id === undefined) throw new FieldError('better_response_id', 'missing');
    pref = id + 1;
  }
  const t1 = str(o[a[0]], a[0]);
  const t2 = str(o[a[1]], a[1]);
  const tie = pref === 0 || pref === 1.5;
  const firstWins = tie || pref < 1.5;
  const c1: Candidate = { role: firstWins ? 'chosen' : 'rejected', text: t1, field: a[0] };
  const c2: Candidate = { role: firstWins ? 'rejected' : 'chosen', text: t2, field: a[1] };
  return make(base, 'pairwise-index', 'pair', prompt, firstWins ? [c1, c2] : [c2, c1], tie ? { tie: true } : {});
}

function candidateFromEntry(e: Json, field: string): Candidate {
  if (typeof e === 'string') return { role: 'candidate', text: e, field };
  if (!isObj(e)) throw new FieldError(field, `expected a string or an object, got ${typeName(e)}`);
  const textKey = ['response', 'answer', 'text', 'completion', 'content', 'output'].find((k) => k in e);
  if (!textKey) throw new FieldError(field, 'candidate without "response"/"answer"/"text"/"completion"');
  const c: Candidate = { role: 'candidate', text: Array.isArray(e[textKey]) ? responseText(toMessages(e[textKey], `${field}.${textKey}`)) : str(e[textKey], `${field}.${textKey}`), field: `${field}.${textKey}` };
  const score = num(e.overall_score ?? e.score ?? e.reward, `${field}.score`);
  if (score !== undefined) c.score = score;
  const rank = num(e.rank, `${field}.rank`);
  if (rank !== undefined) c.rank = rank;
  return c;
}

function promptOf(o: Obj): { prompt: string; promptMessages?: Message[] } {
  const p = o.prompt ?? o.instruction ?? o.question;
  if (typeof p === 'string') return { prompt: p };
  if (Array.isArray(p)) {
    const ms = toMessages(p, 'prompt');
    return { prompt: renderMessages(ms), promptMessages: ms };
  }
  throw new FieldError('prompt', p === undefined ? 'missing' : `expected a string or a list of messages, got ${typeName(p)}`);
}

function numList(v: Json | undefined, field: string, n: number): number[] {
  if (!Array.isArray(v)) throw new FieldError(field, `expected a list of numbers, got ${typeName(v)}`);
  if (v.length !== n) throw new FieldError(field, `has ${v.length} values for ${n} completions`);
  return v.map((x, i) => {
    const y = num(x, `${field}[${i}]`);
    if (y === undefined) throw new FieldError(`${field}[${i}]`, 'expected a number, got null');
    return y;
  });
}

function normRankedList(o: Obj, base: Base): PreferenceRecord {
  const key = 'completions' in o ? 'completions' : 'answers' in o ? 'answers' : 'responses';
  const list = o[key];
  if (!Array.isArray(list)) throw new FieldError(key, `expected a list, got ${typeName(list)}`);
  const cands = list.map((e, i) => candidateFromEntry(e, `${key}[${i}]`));
  if ('ranks' in o) numList(o.ranks, 'ranks', cands.length).forEach((r, i) => (cands[i].rank = r));
  if ('scores' in o) numList(o.scores, 'scores', cands.length).forEach((s, i) => (cands[i].score = s));
  // Best first: by rank ascending when present, else by score descending; stable otherwise.
  const order = cands.map((c, i) => ({ c, i }));
  if (cands.every((c) => c.rank !== undefined)) order.sort((x, y) => (x.c.rank ?? 0) - (y.c.rank ?? 0) || x.i - y.i);
  else if (cands.every((c) => c.score !== undefined)) order.sort((x, y) => (y.c.score ?? 0) - (x.c.score ?? 0) || x.i - y.i);
  return make(base, 'ranked', 'ranked', promptOf(o).prompt, order.map((x) => x.c), promptOf(o).promptMessages ? { promptMessages: promptOf(o).promptMessages } : {});
}

function normGroup(o: Obj, base: Base): PreferenceRecord {
  const key = 'completions' in o ? 'completions' : 'answers' in o ? 'answers' : 'responses';
  const list = o[key];
  if (!Array.isArray(list)) throw new FieldError(key, `expected a list, got ${typeName(list)}`);
  const cands = list.map((e, i) => candidateFromEntry(e, `${key}[${i}]`));
  const cols = Object.keys(o).filter((k) => /^rewards?(_|$)/.test(k));
  if (cols.length === 0) throw new FieldError('rewards', 'missing (a group needs a "rewards" list or "reward_*" columns)');
  for (const col of cols) {
    const v = o[col];
    if (isObj(v)) {
      // {"rewards": {"accuracy": [...], "format": [...]}}
      for (const [name, vals] of Object.entries(v)) {
        numList(vals, `${col}.${name}`, cands.length).forEach((x, i) => ((cands[i].rewards ??= dict())[name] = x));
      }
    } else {
      numList(v, col, cands.length).forEach((x, i) => ((cands[i].rewards ??= dict())[col] = x));
    }
  }
  const p = promptOf(o);
  return make(base, 'group', 'group', p.prompt, cands, p.promptMessages ? { promptMessages: p.promptMessages } : {});
}

interface OasstNode {
  text?: Json;
  role?: Json;
  rank?: Json;
  replies?: Json;
  deleted?: Json;
}

/** OpenAssistant trees: every prompter message whose assistant replies are all ranked becomes a ranked record. */
function normOasst(o: Obj, base: Base): PreferenceRecord[] {
  if (!isObj(o.prompt)) throw new FieldError('prompt', 'expected a message tree object');
  const out: PreferenceRecord[] = [];
  const walk = (node: OasstNode, history: Message[], path: string): void => {
    const text = str(node.text, `${path}.text`);
    const role = node.role === 'prompter' ? 'user' : 'assistant';
    const hist = [...history, { role, content: text }];
    const replies = Array.isArray(node.replies) ? (node.replies.filter(isObj) as OasstNode[]) : [];
    if (role === 'user' && replies.length >= 2 && replies.every((r) => typeof r.rank === 'number')) {
      const cands: Candidate[] = replies.map((r, i) => ({
        role: 'candidate',
        text: str(r.text, `${path}.replies[${i}].text`),
        rank: r.rank as number,
        field: `${path}.replies[${i}]`,
      }));
      cands.sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0));
      out.push({
        ...base,
        format: 'ranked',
        kind: 'ranked',
        prompt: renderMessages(hist),
        promptMessages: hist,
        candidates: cands,
        sub: out.length,
      });
    }
    replies.forEach((r, i) => walk(r, hist, `${path}.replies[${i}]`));
  };
  walk(o.prompt as OasstNode, [], 'prompt');
  return out;
}

/** Normalises one parsed record in the given format. Returns several records for OpenAssistant trees. */
/**
 * LLaMA-Factory alpaca preference rows: `instruction`, `input`, `chosen`, `rejected`, optional `system` and `history`
 * ([[query, response], …]). The prompt as LLaMA-Factory builds it: the system, the history turns, then one user
 * turn of the instruction and the input joined by a newline.
 */
function normAlpaca(o: Obj, base: Base): PreferenceRecord {
  const prompt: Message[] = [];
  if (o.system !== undefined && o.system !== null) {
    const sys = str(o.system, 'system');
    if (sys !== '') prompt.push({ role: 'system', content: sys });
  }
  if (o.history !== undefined && o.history !== null) {
    if (!Array.isArray(o.history)) throw new FieldError('history', `expected a list of [query, response] pairs, got ${typeName(o.history)}`);
    o.history.forEach((turn, i) => {
      if (!Array.isArray(turn) || turn.length !== 2 || !isStr(turn[0]) || !isStr(turn[1])) throw new FieldError(`history[${i}]`, 'expected a [query, response] pair of strings');
      prompt.push({ role: 'user', content: turn[0] }, { role: 'assistant', content: turn[1] });
    });
  }
  const query = [str(o.instruction, 'instruction'), o.input === undefined || o.input === null ? '' : str(o.input, 'input')].filter((x) => x !== '');
  if (query.length === 0) throw new FieldError('instruction', 'empty instruction and input');
  prompt.push({ role: 'user', content: query.join('\n') });
  const turn = (field: 'chosen' | 'rejected'): Message[] => [{ role: 'assistant', content: str(o[field], field) }];
  return pairFromMessages(base, 'alpaca', prompt, turn('chosen'), turn('rejected'), ['chosen', 'rejected']);
}

/** A TRL prompt: a string, or a list of messages (rendered as text, kept as messages). */
function promptField(o: Obj): { prompt: string; promptMessages?: Message[] } {
  if (typeof o.prompt === 'string') return { prompt: o.prompt };
  if (o.prompt === undefined) throw new FieldError('prompt', 'missing');
  const ms = toMessages(o.prompt, 'prompt');
  return { prompt: renderMessages(ms), promptMessages: ms };
}

/** TRL prompt-only rows (`prompt`, string or messages): the input of GRPO, RLOO and online DPO. */
function normPromptOnly(o: Obj, base: Base): PreferenceRecord {
  const p = promptField(o);
  return make(base, 'prompt-only', 'prompt', p.prompt, [], p.promptMessages ? { promptMessages: p.promptMessages } : {});
}

/** TRL prompt-completion rows (`prompt`, `completion`; strings or messages). */
function normPromptCompletion(o: Obj, base: Base): PreferenceRecord {
  const p = promptField(o);
  if (typeof o.completion === 'string')
    return make(base, 'prompt-completion', 'completion', p.prompt, [{ role: 'completion', text: o.completion, field: 'completion' }], p.promptMessages ? { promptMessages: p.promptMessages } : {});
  const c = toMessages(o.completion, 'completion');
  return make(base, 'prompt-completion', 'completion', p.prompt, [{ role: 'completion', text: responseText(c), messages: c, field: 'completion' }], {
    promptMessages: p.promptMessages ?? [{ role: 'user', content: p.prompt }],
  });
}

/** TRL stepwise supervision rows (`prompt`, `completions`: the steps, `labels`: one boolean per step). */
function normStepwise(o: Obj, base: Base): PreferenceRecord {
  const p = promptField(o);
  const steps = o.completions;
  const labels = o.labels;
  if (!Array.isArray(steps)) throw new FieldError('completions', `expected a list of steps, got ${typeName(steps)}`);
  if (!Array.isArray(labels)) throw new FieldError('labels', `expected a list of booleans, got ${typeName(labels)}`);
  if (labels.length !== steps.length) throw new FieldError('labels', `${labels.length} labels for ${steps.length} steps`);
  const cands = steps.map((c, i): Candidate => {
    const label = labels[i];
    if (typeof label !== 'boolean') throw new FieldError(`labels[${i}]`, `expected true or false, got ${typeName(label)}`);
    return { role: 'step', text: str(c, `completions[${i}]`), label, field: `completions[${i}]` };
  });
  return make(base, 'stepwise', 'stepwise', p.prompt, cands, p.promptMessages ? { promptMessages: p.promptMessages } : {});
}

export function normalize(v: unknown, format: FormatName, base: Base): PreferenceRecord[] {
  if (!isObj(v)) throw new FieldError('', `expected a JSON object, got ${typeName(v)}`);
  switch (format) {
    case 'hh':
      return [normHH(v, base)];
    case 'trl-standard':
      if (isMessageList(v.chosen) || isMessageList(v.rejected)) throw new FieldError('chosen', 'expected a string, got a list of messages (use trl-conversational)');
      return [normTrlStandard(v, base)];
    case 'trl-conversational':
      return [normTrlConversational(v, base)];
    case 'sharegpt':
      return [normSharegpt(v, base)];
    case 'kto':
      return [normKto(v, base)];
    case 'pairwise-index':
      return [normPairwise(v, base)];
    case 'ranked':
      if ('message_tree_id' in v || isObj(v.prompt)) return normOasst(v, base);
      return [normRankedList(v, base)];
    case 'group':
      return [normGroup(v, base)];
    case 'alpaca':
      return [normAlpaca(v, base)];
    case 'prompt-only':
      return [normPromptOnly(v, base)];
    case 'prompt-completion':
      return [normPromptCompletion(v, base)];
    case 'stepwise':
      return [normStepwise(v, base)];
  }
}

export function describeFormat(f: FormatName): string {
  switch (f) {
    case 'trl-standard':
      return 'TRL standard pairs';
    case 'trl-conversational':
      return 'TRL conversational pairs';
    case 'hh':
      return 'Anthropic HH pairs';
    case 'sharegpt':
      return 'LLaMA-Factory sharegpt pairs';
    case 'kto':
      return 'KTO unpaired';
    case 'pairwise-index':
      return 'two responses + preference';
    case 'ranked':
      return 'ranked lists';
    case 'group':
      return 'GRPO groups';
    case 'alpaca':
      return 'LLaMA-Factory alpaca pairs';
    case 'prompt-only':
      return 'TRL prompt-only (GRPO/RLOO/online DPO input)';
    case 'prompt-completion':
      return 'TRL prompt-completion';
    case 'stepwise':
      return 'TRL stepwise supervision';
  }
}
