// Conversational records (TRL conversational: UltraFeedback-binarized, Tulu-style mixtures, TRL's own datasets): a JSON
// line whose prompt, chosen and rejected are lists of {role, content} messages, read as formats/normalize.ts
// normTrlConversational reads them — an explicit prompt list, or the implicit prompt of two whole conversations (their
// shared leading messages; a string `prompt` beside them is ignored, as TRL's maybe_extract_prompt does), the score
// columns of UltraFeedback — with the checks of checks/record.ts summarizeRecord on the texts it renders: the prompt
// as "role: content" blocks joined by a blank line (renderMessages), each response as its non-user, non-system
// contents. Statistics of a rendering are sums of its messages' (every separator is whitespace or ':', so no word
// crosses one). Other keys (messages, prompt_id, ids, metadata) are skipped, validated as strictly as JSON.parse would.
//
// Handed back to the exact path: a role other than user/assistant/system (or their ShareGPT names human/gpt), a
// message with other than a string role and a string content, more than MAX_MESSAGES messages in a list, a response of
// more than one message, chosen and rejected whose own prompts differ (promptMismatch: decided by the exact path),
// a score that is not a plain number of at most 15 significant digits, `tools` or `chat_template_kwargs`, and
// everything record() hands back (other escapes, invalid UTF-8, control characters, duplicate keys, invalid JSON).

import { BIT_EMPTY, BIT_ENCODING, BIT_IDENTICAL, BIT_LOW_SEPARATION, BIT_PROMPT_MISMATCH, BIT_SCORE_INVERSION, BIT_SCORE_TIE, BIT_TRUNCATION, FORMAT_TRL_CONVERSATIONAL } from '../../core/kernels/layout';
import { cfgMaxCompletion, cfgMaxEdits, cfgMaxLength, cfgMaxPrompt, cfgPromptExtra, exactFormat, lines, slowLine, stop, tokA, tokB, tokCap } from './config';
import { separation } from './pair';
import { batchFull, emit } from './rows';
import { EXACT, boundedEditDistance, bytesEqual, combine, decodeUnits, nhFinish, nhReset, nhUnit, rawText, sNewlines, scanString, st, textSignature, tokenHashes } from './text';
import { endOfLine, keyEnd, lineEnd, literal, member, memberKey, plainKey, skipNumber, skipString, skipValue, ws } from './json';

// ---- message lists ----

/** Messages per list the kernel holds (more: the exact path). */
export const MAX_MESSAGES: i32 = 64;
const ROLE_USER: i32 = 1;
const ROLE_ASSISTANT: i32 = 2;
const ROLE_SYSTEM: i32 = 3;
// Per list (0 prompt, 1 chosen, 2 rejected) × message: role, content raw start and end, chars, words, nonWs, s1, enc,
// and whether its newlines could hide a join (text.ts sNewlines).
const FIELDS: i32 = 9;
const MSG = memory.data(3 * 64 * 9 * 4, 16);
const COUNT = memory.data(3 * 4, 4);

/** Where message i of `list` is in MSG (FIELDS words). */
@inline function entry(list: i32, i: i32): usize {
  return MSG + <usize>(((list * MAX_MESSAGES + i) * FIELDS) << 2);
}
@inline function msg(list: i32, i: i32, f: i32): i32 {
  return load<i32>(entry(list, i) + (<usize>f << 2));
}
@inline function count(list: i32): i32 {
  return load<i32>(COUNT + (<usize>list << 2));
}

/** The role whose name is the raw key-free string [s, e): user (or human), assistant (or gpt), system; 0 for others. */
function roleCode(s: usize, e: usize): i32 {
  const n = e - s;
  if (n == 4 && load<u32>(s) == 0x72657375) return ROLE_USER; // user
  if (n == 5 && load<u32>(s) == 0x616d7568 && load<u8>(s, 4) == 0x6e) return ROLE_USER; // human
  if (n == 9 && load<u64>(s) == 0x6e61747369737361 && load<u8>(s, 8) == 0x74) return ROLE_ASSISTANT; // assistant
  if (n == 3 && load<u16>(s) == 0x7067 && load<u8>(s, 2) == 0x74) return ROLE_ASSISTANT; // gpt
  if (n == 6 && load<u32>(s) == 0x74737973 && load<u16>(s, 4) == 0x6d65) return ROLE_SYSTEM; // system
  return 0;
}

/** Stores message n of `list`: its role, and its content as slot 3 of ST holds it after scanString. */
@inline function putMessage(list: i32, n: i32, role: i32): void {
  const at = entry(list, n);
  store<i32>(at, role);
  store<i32>(at, st(3, 10), 4);
  store<i32>(at, st(3, 11), 8);
  store<i32>(at, st(3, 0), 12);
  store<i32>(at, st(3, 1), 16);
  store<i32>(at, st(3, 2), 20);
  store<i32>(at, st(3, 3), 24);
  store<i32>(at, st(3, 4), 28);
  store<i32>(at, sNewlines ? 1 : 0, 32);
}

/** The role value at p (after its opening quote) when it is exactly user, assistant or system and its closing quote;
 * its length with the quote in roleEnd. 0 otherwise. */
let roleEnd: usize = 0;
@inline function quickRole(p: usize, le: usize): i32 {
  if (p + 10 > le) return 0;
  if (load<u32>(p) == 0x72657375 && load<u8>(p, 4) == 0x22) {
    roleEnd = p + 5;
    return ROLE_USER;
  }
  if (load<u64>(p) == 0x6e61747369737361 && load<u16>(p, 8) == 0x2274) {
    roleEnd = p + 10;
    return ROLE_ASSISTANT;
  }
  if (load<u32>(p) == 0x74737973 && load<u16>(p, 4) == 0x6d65 && load<u8>(p, 6) == 0x22) {
    roleEnd = p + 7;
    return ROLE_SYSTEM;
  }
  return 0;
}

// `"role":"` and `"content":"` as little-endian words, for messages written compactly (JSON.stringify, datasets).
const ROLE_KEY: u64 = 0x223a22656c6f7222; // "role":"
const CONTENT_KEY: u64 = 0x22746e65746e6f63; // content" (after the opening quote)

/**
 * The message at p ('{') when it is written compactly as {"role":"R","content":"…"} or {"content":"…","role":"R"}
 * with R user, assistant or system: stored as message n of `list`; the position after its '}', else 0 (the general
 * reader then takes it).
 */
function quickMessage(p: usize, le: usize, list: i32, n: i32): usize {
  if (p + 24 > le) return 0;
  let role: i32 = 0;
  if (load<u64>(p, 1) == ROLE_KEY) {
    role = quickRole(p + 9, le);
    if (role == 0) return 0;
    p = roleEnd;
    if (p + 12 > le || load<u16>(p) != 0x222c || load<u64>(p, 2) != CONTENT_KEY || load<u16>(p, 10) != 0x223a) return 0; // ,"content":"
    p = scanString<u16>(p + 12, p + 12, le, 3, false, -1);
    if (p == 0 || p >= le || load<u8>(p) != 0x7d) return 0;
    putMessage(list, n, role);
    return p + 1;
  }
  if (load<u8>(p, 1) == 0x22 && load<u64>(p, 2) == CONTENT_KEY && load<u16>(p, 10) == 0x223a) {
    p = scanString<u16>(p + 12, p + 12, le, 3, false, -1);
    if (p == 0 || p + 10 > le || load<u64>(p) != 0x3a22656c6f72222c || load<u8>(p, 8) != 0x22) return 0; // ,"role":" 
    role = quickRole(p + 9, le);
    if (role == 0) return 0;
    p = roleEnd;
    if (p >= le || load<u8>(p) != 0x7d) return 0;
    putMessage(list, n, role);
    return p + 1;
  }
  return 0;
}

/**
 * Reads the list of messages at p ('[') into list `list`; the position after its ']', or 0 to hand the record back.
 * Each message's content is scanned (scanString, field slot 3) for its statistics.
 */
function messages(p: usize, le: usize, list: i32): usize {
  let n: i32 = 0;
  p = ws(p + 1, le);
  if (p < le && load<u8>(p) == 0x5d) {
    store<i32>(COUNT + (<usize>list << 2), 0);
    return p + 1;
  }
  for (;;) {
    if (p >= le || load<u8>(p) != 0x7b || n == MAX_MESSAGES) return 0;
    const quick = quickMessage(p, le, list, n);
    if (quick != 0) {
      n++;
      p = quick;
      if (p >= le) return 0;
      const b = load<u8>(p);
      if (b == 0x2c && p + 1 < le && load<u8>(p + 1) == 0x7b) {
        p++;
        continue;
      }
      p = ws(p, le);
      if (p >= le) return 0;
      const c = load<u8>(p);
      p = ws(p + 1, le);
      if (c == 0x5d) break;
      if (c != 0x2c) return 0;
      continue;
    }
    p = ws(p + 1, le);
    let role: i32 = 0;
    let content = false;
    if (p < le && load<u8>(p) == 0x7d) return 0; // {}: no role
    for (;;) {
      p = member(p, le);
      if (p == 0) return 0;
      const ks = memberKey;
      const kl = keyEnd - ks;
      if (kl == 4 && load<u32>(ks) == 0x656c6f72) {
        // role: a plain string naming a role the kernel knows
        if (role != 0 || load<u8>(p) != 0x22) return 0;
        const rs = p + 1;
        if (!plainKey(rs, le)) return 0;
        role = roleCode(rs, keyEnd);
        if (role == 0) return 0;
        p = keyEnd + 1;
      } else if (kl == 7 && load<u32>(ks) == 0x746e6f63 && load<u16>(ks, 4) == 0x6e65 && load<u8>(ks, 6) == 0x74) {
        // content: a string, with its statistics
        if (content || load<u8>(p) != 0x22) return 0;
        content = true;
        p = scanString<u16>(p + 1, p + 1, le, 3, false, -1);
        if (p == 0) return 0;
        putMessage(list, n, 0);
      } else if ((kl == 4 && load<u32>(ks) == 0x6d6f7266) || (kl == 5 && load<u32>(ks) == 0x756c6176 && load<u8>(ks, 4) == 0x65)) {
        return 0; // from / value: ShareGPT's spelling, read by the exact path
      } else {
        p = skipValue(p, le);
        if (p == 0) return 0;
      }
      p = ws(p, le);
      if (p >= le) return 0;
      const b = load<u8>(p);
      p++;
      if (b == 0x7d) break;
      if (b != 0x2c) return 0;
      p = ws(p, le);
    }
    if (role == 0 || !content) return 0;
    store<i32>(entry(list, n), role);
    n++;
    p = ws(p, le);
    if (p >= le) return 0;
    const b = load<u8>(p);
    p = ws(p + 1, le);
    if (b == 0x5d) break;
    if (b != 0x2c) return 0;
  }
  store<i32>(COUNT + (<usize>list << 2), n);
  return p;
}

/**
 * Messages of list 2 found equal to list 1's at the same place while a Parquet row was read (rowMessages' twin): 1 for
 * message i when it was, for the row being read (rowMessages sets it for each message of list 2 it reads that way).
 */
const TWIN = memory.data(64);
let twinRow = false; // TWIN holds the row being read (a Parquet row; not a JSON line)

/** Whether message i of list a equals message j of list b (role and content; raw bytes are the decoded text). */
function sameMessage(a: i32, i: i32, b: i32, j: i32): bool {
  if (twinRow && a == 1 && b == 2 && i == j && load<u8>(TWIN + <usize>j) != 0) return true;
  if (msg(a, i, 0) != msg(b, j, 0)) return false;
  const as = <usize>msg(a, i, 1);
  const bs = <usize>msg(b, j, 1);
  const n = msg(a, i, 2) - <i32>as;
  return n == msg(b, j, 2) - <i32>bs && bytesEqual(as, bs, n);
}

/** TRL's own prompt of a conversation: its messages up to its last user or system one. */
function ownPrompt(list: i32): i32 {
  let k = count(list);
  while (k > 0 && msg(list, k - 1, 0) == ROLE_ASSISTANT) k--;
  return k;
}

// A rendering's statistics: chars, words, nonWs, s1, enc.
let rC: i32 = 0;
let rW: i32 = 0;
let rN: i32 = 0;
let r1: i32 = 0;
let rE: i32 = 0;

// Each role's name: its length (chars and non-space units), and the sum of (c | 0x20) of its characters and of ':'.
@inline function roleLength(role: i32): i32 {
  return role == ROLE_USER ? 4 : role == ROLE_ASSISTANT ? 9 : 6;
}
@inline function roleS1(role: i32): i32 {
  // "user", "assistant", "system" (lower case already), then ':' (0x3a)
  return (role == ROLE_USER ? 0x75 + 0x73 + 0x65 + 0x72 : role == ROLE_ASSISTANT ? 0x61 + 0x73 + 0x73 + 0x69 + 0x73 + 0x74 + 0x61 + 0x6e + 0x74 : 0x73 + 0x79 + 0x73 + 0x74 + 0x65 + 0x6d) + 0x3a;
}

/** renderMessages of messages [from, to) of `list`: "role: content" blocks joined by "\n\n". */
function renderStats(list: i32, from: i32, to: i32): void {
  rC = 0;
  rW = 0;
  rN = 0;
  r1 = 0;
  rE = 0;
  for (let i = from; i < to; i++) {
    const role = msg(list, i, 0);
    const rl = roleLength(role);
    rC += rl + 2 + msg(list, i, 3) + (i > from ? 2 : 0);
    rW += 2 + msg(list, i, 4);
    rN += rl + 1 + msg(list, i, 5);
    r1 += roleS1(role) + msg(list, i, 6);
    rE += msg(list, i, 7);
  }
}


// ---- the normalised hash of a rendering (exact keys) ----

/** Feeds the name of `role` and ": " to the normalised hash. */
function nhRole(role: i32): void {
  if (role == ROLE_USER) {
    nhUnit(0x75);
    nhUnit(0x73);
    nhUnit(0x65);
    nhUnit(0x72);
  } else if (role == ROLE_ASSISTANT) {
    nhUnit(0x61);
    nhUnit(0x73);
    nhUnit(0x73);
    nhUnit(0x69);
    nhUnit(0x73);
    nhUnit(0x74);
    nhUnit(0x61);
    nhUnit(0x6e);
    nhUnit(0x74);
  } else {
    nhUnit(0x73);
    nhUnit(0x79);
    nhUnit(0x73);
    nhUnit(0x74);
    nhUnit(0x65);
    nhUnit(0x6d);
  }
  nhUnit(0x3a);
  nhUnit(0x20);
}

function renderHash(list: i32, from: i32, to: i32): f64 {
  nhReset();
  for (let i = from; i < to; i++) {
    if (i > from) {
      nhUnit(0x0a);
      nhUnit(0x0a);
    }
    nhRole(msg(list, i, 0));
    decodeUnits(<usize>msg(list, i, 1), <usize>msg(list, i, 2));
  }
  return nhFinish();
}


// ---- scores (UltraFeedback's score_chosen, score_rejected) ----

let score: f64 = 0;
const POW10 = memory.data<f64>([1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]);

/**
 * The JSON number at p as JSON.parse gives it, in `score`; the position after it, or 0 when it is not one the kernel
 * converts exactly: at most 15 significant digits and a decimal exponent within ±22 (one correctly rounded IEEE
 * multiplication or division of exact values, as Clinger's fast path).
 */
function parseScore(p: usize, le: usize): usize {
  const end = skipNumber(p, le);
  if (end == 0) return 0;
  let neg = false;
  if (load<u8>(p) == 0x2d) {
    neg = true;
    p++;
  }
  let m: u64 = 0;
  let digits: i32 = 0;
  let exp: i32 = 0;
  let frac = false;
  for (; p < end; p++) {
    const b = <u32>load<u8>(p);
    if (b == 0x2e) {
      frac = true;
      continue;
    }
    if ((b | 0x20) == 0x65) break;
    const d = b - 0x30;
    if (m == 0 && d == 0) {
      if (frac) exp--;
      continue;
    }
    if (++digits > 15) return 0;
    m = m * 10 + <u64>d;
    if (frac) exp--;
  }
  if (p < end) {
    // the exponent
    p++;
    let sign: i32 = 1;
    if (load<u8>(p) == 0x2b) p++;
    else if (load<u8>(p) == 0x2d) {
      sign = -1;
      p++;
    }
    let e: i32 = 0;
    for (; p < end; p++) {
      e = e * 10 + <i32>(load<u8>(p) - 0x30);
      if (e > 1000) return 0;
    }
    exp += sign * e;
  }
  let v = <f64>m;
  if (m != 0) {
    if (exp > 22 || exp < -22) return 0;
    v = exp >= 0 ? v * load<f64>(POW10 + (<usize>exp << 3)) : v / load<f64>(POW10 + (<usize>-exp << 3));
  }
  score = neg ? -v : v;
  return end;
}

// ---- the record ----

// The keys read (bits of `seen`).
const K_PROMPT: i32 = 1;
const K_CHOSEN: i32 = 2;
const K_REJECTED: i32 = 4;
const K_SCORE_C: i32 = 8;
const K_SCORE_R: i32 = 16;

/**
 * Parses and checks the conversational record on the line at ls (see record() in records.ts for the arguments and
 * the return value); with `exact`, writes its exact keys instead of a row.
 */
export function convRecord(ls: usize, end: usize, final: bool, line: i32, offset: f64, exact: bool): usize {
  const le = end;
  let p = ws(ls, le);
  if (p >= le || load<u8>(p) != 0x7b) return 0;
  p = ws(p + 1, le);
  let seen: i32 = 0;
  let promptString = false;
  let scoreC: f64 = 0;
  let scoreR: f64 = 0;
  let hasScoreC = false;
  let hasScoreR = false;
  if (p < le && load<u8>(p) == 0x7d) return 0; // {}
  for (;;) {
    p = member(p, le);
    if (p == 0) return 0;
    const ks = memberKey;
    const kl = keyEnd - ks;
    const v = load<u8>(p);
    let k: i32 = 0;
    if (kl == 6 && load<u32>(ks) == 0x6d6f7270 && load<u16>(ks, 4) == 0x7470) k = K_PROMPT;
    else if (kl == 6 && load<u32>(ks) == 0x736f6863 && load<u16>(ks, 4) == 0x6e65) k = K_CHOSEN;
    else if (kl == 8 && load<u64>(ks) == 0x64657463656a6572) k = K_REJECTED;
    else if (kl == 12 && load<u64>(ks) == 0x68635f65726f6373 && load<u32>(ks, 8) == 0x6e65736f) k = K_SCORE_C; // score_chosen
    else if (kl == 14 && load<u64>(ks) == 0x65725f65726f6373 && load<u32>(ks, 8) == 0x7463656a && load<u16>(ks, 12) == 0x6465) k = K_SCORE_R; // score_rejected
    else if (kl == 5 && load<u32>(ks) == 0x6c6f6f74 && load<u8>(ks, 4) == 0x73) return 0; // tools
    else if (kl == 20 && load<u64>(ks) == 0x706d65745f746863 && load<u64>(ks, 8) == 0x776b5f6574616c70 && load<u32>(ks, 16) == 0x73677261) return 0; // chat_template_kwargs
    if (k != 0) {
      if ((seen & k) != 0) return 0; // a duplicate key: JSON.parse keeps the last one
      seen |= k;
    }
    if (k == K_PROMPT) {
      if (v == 0x22) {
        promptString = true;
        p = skipString(p + 1, le);
      } else if (v == 0x5b) p = messages(p, le, 0);
      else return 0;
    } else if (k == K_CHOSEN || k == K_REJECTED) {
      if (v != 0x5b) return 0;
      p = messages(p, le, k == K_CHOSEN ? 1 : 2);
    } else if (k == K_SCORE_C || k == K_SCORE_R) {
      if (v == 0x6e) p = literal(p, le, 0x6c6c756e, 4); // null: no score
      else {
        p = parseScore(p, le);
        if (k == K_SCORE_C) {
          scoreC = score;
          hasScoreC = true;
        } else {
          scoreR = score;
          hasScoreR = true;
        }
      }
    } else p = skipValue(p, le);
    if (p == 0) return 0;
    p = ws(p, le);
    if (p >= le) return 0;
    const b = load<u8>(p);
    p++;
    if (b == 0x7d) break;
    if (b != 0x2c) return 0;
    p = ws(p, le);
  }
  const next = endOfLine(p, end, final, ls);
  if (next == 0) return 0;
  if ((seen & (K_CHOSEN | K_REJECTED)) != (K_CHOSEN | K_REJECTED)) return 0;
  const explicit = (seen & K_PROMPT) != 0 && !promptString;
  return evaluate(explicit, hasScoreC, scoreC, hasScoreR, scoreR, line, offset, <i32>(lineEnd - ls), exact) ? next : 0;
}

/**
 * The checks of the conversational record whose lists are in MSG (`explicit`: list 0 is its prompt; else chosen and
 * rejected are whole conversations), as normTrlConversationalPair reads it; emits its row, or with `exact` writes its
 * exact keys. False to hand it back to the exact path.
 */
function evaluate(explicit: bool, hasScoreC: bool, scoreC: f64, hasScoreR: bool, scoreR: f64, line: i32, offset: f64, length: i32, exact: bool): bool {
  // The prompt and the two responses, as normTrlConversationalPair takes them: lists and ranges of messages.
  let pl: i32, pt: i32; // prompt: list, messages [0, pt)
  let cf: i32, rf: i32; // responses: chosen [cf, count(1)), rejected [rf, count(2))
  const nc = count(1);
  const nr = count(2);
  let mismatch = false;
  let mismatchEnc = false;
  if (explicit) {
    pl = 0;
    pt = count(0);
    cf = 0;
    rf = 0;
  } else {
    // two whole conversations (a string prompt beside them is ignored): the prompt is their shared start
    if (nc == 0 || nr == 0) return false;
    let n: i32 = 0;
    while (n < nc && n < nr && sameMessage(1, n, 2, n)) n++;
    if (n == min<i32>(nc, nr) && n > 0) n--;
    // own prompts that differ from the shared one: the rejected one is the record's rejectedPrompt when their
    // renderings differ (mismatchExtra)
    const oc = ownPrompt(1);
    const or = ownPrompt(2);
    if (oc != n || or != n) {
      const same = sameMessages(1, 0, oc, 2, 0, or);
      if (same < 0) return false;
      if (same == 0) {
        mismatch = true;
        for (let i: i32 = 0; i < or; i++) if (msg(2, i, 7) > 0) mismatchEnc = true;
      }
    }
    pl = 1;
    pt = n;
    cf = n;
    rf = n;
  }
  // each response: its non-user, non-system messages (their contents joined by a blank line: responseText)
  const kc = responses(1, cf, nc, RESP_C);
  const kr = responses(2, rf, nr, RESP_R);
  if (kc < 0 || kr < 0) return false;

  if (exact) {
    if (exactFormat != FORMAT_TRL_CONVERSATIONAL) return false;
    const hp = renderHash(pl, 0, pt);
    const hc = joinedHash(1, RESP_C, kc);
    const hr = joinedHash(2, RESP_R, kr);
    store<f64>(EXACT, combine(hp, hc, hr, 2));
    store<f64>(EXACT, combine(hp, hc, hr, -1), 8);
    store<f64>(EXACT, hc != hr ? combine(hp, hr, hc, -1) : -1, 16);
    return true;
  }

  renderStats(pl, 0, pt);
  const pC = rC, pW = rW, pN = rN, p1 = r1, pE = rE;
  joinedStats(1, RESP_C, kc);
  const cC = rC, cW = rW, cN = rN, c1 = r1, cE = rE;
  joinedStats(2, RESP_R, kr);
  const qC = rC, qW = rW, qN = rN, q1 = r1, qE = rE;
  let flags: i32 = 0;
  if (mismatch) flags |= BIT_PROMPT_MISMATCH;
  if (pE > 0 || cE > 0 || qE > 0 || mismatchEnc) flags |= BIT_ENCODING;
  if (cN == 0 || qN == 0) flags |= BIT_EMPTY;
  // a conversational response ends with the chat template's own end token: no EOS is added
  const pX = pW + cfgPromptExtra;
  if (pX > cfgMaxPrompt) flags |= BIT_TRUNCATION;
  if (cfgMaxCompletion >= 0 && (cW > cfgMaxCompletion || qW > cfgMaxCompletion)) flags |= BIT_TRUNCATION;
  if (pX + cW > cfgMaxLength || pX + qW > cfgMaxLength) flags |= BIT_TRUNCATION;
  let sep: i32;
  if (kc == 1 && kr == 1) {
    const ci = load<i32>(RESP_C);
    const ri = load<i32>(RESP_R);
    sep = separation(<usize>msg(1, ci, 1), <usize>msg(1, ci, 2), <usize>msg(2, ri, 1), <usize>msg(2, ri, 2), cW, qW);
  } else sep = joinedSeparation(kc, kr, cW, qW);
  if (sep < 0) return false;
  flags |= sep;
  if (hasScoreC && hasScoreR) {
    if (scoreC == scoreR) flags |= BIT_SCORE_TIE;
    else if (scoreC < scoreR) flags |= BIT_SCORE_INVERSION;
  }
  const sp = textSignature(pW, pN, p1);
  const sc = textSignature(cW, cN, c1);
  const sr = textSignature(qW, qN, q1);
  emit(line, offset, length, 0, flags, FORMAT_TRL_CONVERSATIONAL, 0, pC, pW, cC, cW, qC, qW, -1, combine(sp, sc, sr, 2), combine(sp, sr, sc, 2), 0, 0);
  return true;
}

// ---- texts joined from several messages ----

// The messages of each response (indices into list 1 or 2), MAX_MESSAGES each.
const RESP_C = memory.data(64 * 4, 4);
const RESP_R = memory.data(64 * 4, 4);

/** The non-user, non-system messages of [from, to) of `list` into `out`; their count. */
function responses(list: i32, from: i32, to: i32, out: usize): i32 {
  let k: i32 = 0;
  for (let i = from; i < to; i++) {
    const role = msg(list, i, 0);
    if (role == ROLE_USER || role == ROLE_SYSTEM) continue;
    store<i32>(out + (<usize>k << 2), i);
    k++;
  }
  return k;
}

/**
 * Whether two joined texts are equal — the renderings (`roles`) or the responses of [af, at) of list a and [bf, bt)
 * of list b — decided by their parts: 1 equal, 0 different, -1 undecided (the exact path): parts that differ but hold
 * a newline where a join's "\n\n" could be read differently (sNewlines).
 */
function sameMessages(a: i32, af: i32, at: i32, b: i32, bf: i32, bt: i32): i32 {
  if (at - af == bt - bf) {
    let all = true;
    for (let i: i32 = 0; i < at - af && all; i++) all = sameMessage(a, af + i, b, bf + i);
    if (all) return 1;
  }
  for (let i = af; i < at; i++) if (msg(a, i, 8) != 0) return -1;
  for (let i = bf; i < bt; i++) if (msg(b, i, 8) != 0) return -1;
  return 0;
}

/** The statistics (rC, rW, rN, r1, rE) of the k messages of `list` listed at `idx`, joined by "\n\n". */
function joinedStats(list: i32, idx: usize, k: i32): void {
  rC = 0;
  rW = 0;
  rN = 0;
  r1 = 0;
  rE = 0;
  for (let j: i32 = 0; j < k; j++) {
    const i = load<i32>(idx + (<usize>j << 2));
    rC += msg(list, i, 3) + (j > 0 ? 2 : 0);
    rW += msg(list, i, 4);
    rN += msg(list, i, 5);
    r1 += msg(list, i, 6);
    rE += msg(list, i, 7);
  }
}

/** The normalised hash of the k messages of `list` listed at `idx`, joined by "\n\n". */
function joinedHash(list: i32, idx: usize, k: i32): f64 {
  nhReset();
  for (let j: i32 = 0; j < k; j++) {
    const i = load<i32>(idx + (<usize>j << 2));
    if (j > 0) {
      nhUnit(0x0a);
      nhUnit(0x0a);
    }
    decodeUnits(<usize>msg(list, i, 1), <usize>msg(list, i, 2));
  }
  return nhFinish();
}

/**
 * The identical and low-separation bits of two responses of several messages (or none), as separation() gives them
 * for one message each: equal texts, else the token edit distance of their joined texts (the join is whitespace, so
 * their tokens are the messages' tokens in turn). -1: the exact path.
 */
function joinedSeparation(kc: i32, kr: i32, cW: i32, rW: i32): i32 {
  const same = kc == kr ? sameList(kc) : -2;
  if (same == 1) return BIT_IDENTICAL;
  if (same == -1) return -1;
  // responses of different structure: equal texts only where a part's newlines could hide a join
  for (let j: i32 = 0; j < kc; j++) if (msg(1, load<i32>(RESP_C + (<usize>j << 2)), 8) != 0) return -1;
  for (let j: i32 = 0; j < kr; j++) if (msg(2, load<i32>(RESP_R + (<usize>j << 2)), 8) != 0) return -1;
  if (abs<i32>(cW - rW) > cfgMaxEdits) return 0;
  const n = joinedTokens(1, RESP_C, kc, tokA);
  const m = n < 0 ? -1 : joinedTokens(2, RESP_R, kr, tokB);
  if (m < 0) return -1;
  return boundedEditDistance(tokA, n, tokB, m, cfgMaxEdits, 0x7fffffff) <= cfgMaxEdits ? BIT_LOW_SEPARATION : 0;
}

/** Whether the k listed responses of chosen and rejected are message for message equal (1), or not (0; -1 never). */
function sameList(k: i32): i32 {
  for (let j: i32 = 0; j < k; j++) if (!sameMessage(1, load<i32>(RESP_C + (<usize>j << 2)), 2, load<i32>(RESP_R + (<usize>j << 2)))) return 0;
  return 1;
}

/** The token hashes of the k listed messages of `list`, in turn, at `out`; -1 when they do not fit the scratch. */
function joinedTokens(list: i32, idx: usize, k: i32, out: usize): i32 {
  let n: i32 = 0;
  for (let j: i32 = 0; j < k; j++) {
    const i = load<i32>(idx + (<usize>j << 2));
    const got = tokenHashes(<usize>msg(list, i, 1), <usize>msg(list, i, 2), out + (<usize>n << 2), tokCap - n);
    if (got < 0 || got >= tokCap - n) return -1; // the scratch is full: the exact path
    n += got;
  }
  return n;
}

// ---- Parquet rows (list<struct<content, role>> columns decoded by the Parquet kernel: parquetKernel.ts assemble) ----

// The descriptor of a row group's conversational tables (u32 words; the driver, rowLines.ts, writes it): the prompt's
// kind (0: none or a string, ignored; 1: a list), then per list its (first message, count) pairs per row and its
// message table (16 bytes a message: content and role as (address, length) pairs), then per score its f64 values and
// u8 flags per row (0: none, 1: a number, 2: something the exact path reads), or 0 when the file has no such column.
const D_PROMPT_KIND = 0;
const D_LISTS = 4; // 3 × (rows, msgs)
const D_SCORE_C = 28; // values, flags
const D_SCORE_R = 36;
const NULL_CELL: u32 = 0xffffffff;

/** Loads list `list` of row r from a (rows, msgs) pair of tables at `d`; false for a null list or a message the kernel
 * does not read (a null element or field, a role it does not know). A message equal (role and bytes) to the message
 * of list `twin` at the same place (the rejected conversation's prompt, which repeats the chosen one's) takes that
 * message's statistics instead of being scanned again. */
function rowMessages(d: usize, r: i32, list: i32, twin: i32): bool {
  const rp = <usize>load<u32>(d) + (<usize>r << 3);
  const n = load<u32>(rp, 4);
  if (n == NULL_CELL || n > <u32>MAX_MESSAGES) return false;
  const msgs = <usize>load<u32>(d, 4);
  const first = load<u32>(rp);
  for (let i: u32 = 0; i < n; i++) {
    const mp = msgs + (<usize>(first + i) << 4);
    const cl = load<u32>(mp, 4);
    const rl = load<u32>(mp, 12);
    if (cl >= 0xfffffffe || rl >= 0xfffffffe) return false;
    const rs = <usize>load<u32>(mp, 8);
    const role = roleCode(rs, rs + <usize>rl);
    if (role == 0) return false;
    const cs = <usize>load<u32>(mp);
    if (twin >= 0 && <i32>i < count(twin) && msg(twin, <i32>i, 0) == role) {
      const ts = <usize>msg(twin, <i32>i, 1);
      if (<u32>(msg(twin, <i32>i, 2) - <i32>ts) == cl && bytesEqual(ts, cs, <i32>cl)) {
        // the twin's entry (FIELDS = 9 words: two 16-byte moves and one word), with this message's own place
        const from = entry(twin, <i32>i);
        const to = entry(list, <i32>i);
        v128.store(to, v128.load(from));
        v128.store(to, v128.load(from, 16), 16);
        store<i32>(to, load<i32>(from, 32), 32);
        store<i32>(to, <i32>cs, 4);
        store<i32>(to, <i32>(cs + <usize>cl), 8);
        store<u8>(TWIN + <usize>i, 1);
        continue;
      }
    }
    if (scanString<u8>(cs, cs, cs + <usize>cl, 3, false, -1) == 0) return false;
    putMessage(list, <i32>i, role);
    if (twin >= 0) store<u8>(TWIN + <usize>i, 0);
  }
  store<i32>(COUNT + (<usize>list << 2), <i32>n);
  return true;
}

/** A score of row r (`at`: the descriptor's values/flags words): 1 and `score` set, 0 none, -1 the exact path. */
function rowScore(at: usize, r: i32): i32 {
  const vals = <usize>load<u32>(at);
  if (vals == 0) return 0;
  const f = load<u8>(<usize>load<u32>(at, 4) + <usize>r);
  if (f == 2) return -1;
  if (f == 0) return 0;
  score = load<f64>(vals + (<usize>r << 3));
  return 1;
}

/** Row r of a row group's conversational tables as a record (see evaluate); false to hand it back. */
function convRow(desc: usize, r: i32, line: i32, offset: f64, exact: bool): bool {
  let explicit = false;
  if (load<u32>(desc, D_PROMPT_KIND) == 1) {
    // a prompt list; a null one is no prompt (two whole conversations)
    const pd = desc + D_LISTS;
    explicit = load<u32>(<usize>load<u32>(pd) + (<usize>r << 3), 4) != NULL_CELL;
    if (explicit && !rowMessages(pd, r, 0, -1)) return false;
  }
  if (!rowMessages(desc + D_LISTS + 8, r, 1, -1) || !rowMessages(desc + D_LISTS + 16, r, 2, 1)) return false;
  const c = rowScore(desc + D_SCORE_C, r);
  const scoreC = score;
  const q = rowScore(desc + D_SCORE_R, r);
  if (c < 0 || q < 0) return false;
  twinRow = true; // (sameMessage: list 2's messages found equal to list 1's while they were read)
  const ok = evaluate(explicit, c == 1, scoreC, q == 1, score, line, offset, 0, exact);
  twinRow = false;
  return ok;
}

/** Exact keys (at exactResult) of row r of a row group's conversational tables; false when the kernel does not read it. */
export function exactKeysConvRow(desc: usize, r: i32): bool {
  exactFormat = FORMAT_TRL_CONVERSATIONAL;
  rawText = true;
  const ok = convRow(desc, r, 0, 0, true);
  rawText = false;
  return ok;
}

/**
 * Reads rows [from, to) of a Parquet row group in memory as conversational records (convRow), as scanRows (records.ts)
 * reads flat ones: rows numbered from firstLine, offsets baseOffset + row; stops at a row it hands back (stop = 1).
 */
export function scanRowsConv(desc: usize, from: i32, to: i32, firstLine: i32, baseOffset: f64): void {
  stop = 3;
  rawText = true;
  let r = from;
  while (r < to) {
    if (batchFull()) break;
    const line = firstLine + (r - from);
    const ok = convRow(desc, r, line, baseOffset + <f64>r, false);
    r++;
    if (!ok) {
      slowLine = line;
      stop = 1;
      break;
    }
  }
  lines = r - from;
  rawText = false;
}
