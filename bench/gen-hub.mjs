// The shapes the hub serves, made from the shared HH pairs (../shared/data/hh-harmless/dev.jsonl) for bench/scan and
// bench/parquet: UltraFeedback-binarized rows (a string `prompt`, `prompt_id`, `chosen`/`rejected`/`messages` as
// lists of {role, content}, `score_chosen`, `score_rejected`) and TRL conversational rows (`prompt`, `chosen`,
// `rejected` as lists of messages), as compact JSON Lines (what `datasets`' to_json writes) and as Snappy Parquet
// written by DuckDB (list<struct<content, role>> columns, as the hub's files have them; row groups of 10,000).
// Each HH pair becomes a conversation (its Human/Assistant turns); the pairs are repeated with a deterministic word
// substitution per copy until the file reaches the size asked, so that copies are not duplicates of each other; 0.2% of
// rows repeat the row before, as in gen-hh.mjs. Same arguments, same bytes.
import { createWriteStream, existsSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

const WORDS = ('the a to of and in is you that it for i on with as are be this was have not but what can do your they ' +
  'how about would like there if so my me just know think want some could people one get help make good way time').split(' ');

/** HH transcripts as turns: [{role, content}] (Human → user, Assistant → assistant). */
function turns(transcript) {
  const out = [];
  const re = /\n\n(Human|Assistant):/g;
  const marks = [...transcript.matchAll(re)];
  marks.forEach((m, i) => {
    const end = i + 1 < marks.length ? marks[i + 1].index : transcript.length;
    out.push({ role: m[1] === 'Human' ? 'user' : 'assistant', content: transcript.slice(m.index + m[0].length, end).trim() });
  });
  return out;
}

/** The shared HH pairs as conversations: a prompt (all turns before the last) and the two final assistant turns. */
export function hhConversations(shared = resolve(import.meta.dirname, '..', '..', 'shared')) {
  const path = resolve(shared, 'data', 'hh-harmless', 'dev.jsonl');
  if (!existsSync(path)) throw new Error(`${path}: the shared HH pairs are needed (../shared)`);
  const out = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const { chosen, rejected } = JSON.parse(line);
    const c = turns(chosen);
    const r = turns(rejected);
    if (c.length < 2 || r.length < 2 || c.at(-1).role !== 'assistant' || r.at(-1).role !== 'assistant') continue;
    out.push({ prompt: c.slice(0, -1), chosen: c.at(-1).content, rejected: r.at(-1).content, rejectedPrompt: r.slice(0, -1) });
  }
  return out;
}

/**
 * Copy k of a text: every word whose position hashes to 0 mod 11, and the word at position k mod its word count,
 * replaced by words of the list (k = 0: itself), so that no two copies of a text are equal.
 */
function vary(text, k) {
  if (k === 0) return text;
  const words = (text.match(/[A-Za-z]+/g) ?? []).length;
  const always = words ? k % words : -1;
  let i = 0;
  return text.replace(/[A-Za-z]+/g, (w) => {
    const at = i++;
    // a suffix of its own per copy, in length and in the sum of its letters (PrefLens' record signatures sum a text's
    // characters: copies whose suffixes were anagrams of each other would share them)
    if (at === always) return w + 'q'.repeat((k % 23) + 1) + 'x'.repeat(Math.floor(k / 23) + 1);
    return (at * 31 + k * 17) % 11 === 0 ? WORDS[(at + 1 + k) % WORDS.length] : w;
  });
}

/** A row of `shape` from conversation `conv`, copy k. */
function row(shape, conv, k, n) {
  const prompt = conv.prompt.map((m) => ({ role: m.role, content: vary(m.content, k) }));
  const rejectedPrompt = conv.rejectedPrompt.map((m) => ({ role: m.role, content: vary(m.content, k) }));
  const chosen = vary(conv.chosen, k);
  const rejected = vary(conv.rejected, k);
  if (shape === 'trl-conversational') return { prompt, chosen: [{ role: 'assistant', content: chosen }], rejected: [{ role: 'assistant', content: rejected }] };
  const first = prompt.find((m) => m.role === 'user')?.content ?? '';
  const c = [...prompt, { role: 'assistant', content: chosen }];
  const r = [...rejectedPrompt, { role: 'assistant', content: rejected }];
  const sc = 1 + ((n * 7) % 10);
  const sr = Math.max(1, sc - 1 - ((n * 3) % 4)) - (n % 97 === 0 ? 1 : 0);
  return { prompt: first, prompt_id: createHash('sha256').update(first).digest('hex'), chosen: c, rejected: r, messages: c, score_chosen: sc, score_rejected: sr };
}

/** Writes `bytes` of `shape` rows as JSON Lines to `path`; returns the rows written. */
export function generateHub(path, bytes, shape) {
  const convs = hhConversations();
  return new Promise((res, rej) => {
    const out = createWriteStream(path);
    out.on('error', rej);
    let written = 0;
    let n = 0;
    let prev = null;
    const write = () => {
      let ok = true;
      while (written < bytes && ok) {
        // as in gen-hh.mjs: 0.2% of rows repeat the row before (an exact duplicate)
        const line = prev && (n * 2654435761) % 1000 < 2 ? prev : JSON.stringify(row(shape, convs[n % convs.length], Math.floor(n / convs.length), n)) + '\n';
        prev = line;
        written += Buffer.byteLength(line);
        n++;
        ok = out.write(line);
      }
      if (written >= bytes) out.end(() => res({ bytes: written, rows: n }));
      else out.once('drain', write);
    };
    write();
  });
}

const MESSAGES = "STRUCT(content VARCHAR, role VARCHAR)[]";

/** DuckDB's column types for read_json of each shape (the hub's Parquet schema). */
export const COLUMNS = {
  ultrafeedback: `{prompt: 'VARCHAR', prompt_id: 'VARCHAR', chosen: '${MESSAGES}', rejected: '${MESSAGES}', messages: '${MESSAGES}', score_chosen: 'DOUBLE', score_rejected: 'DOUBLE'}`,
  'trl-conversational': `{prompt: '${MESSAGES}', chosen: '${MESSAGES}', rejected: '${MESSAGES}'}`,
};

/** The rows of a JSON Lines file of `shape` as Snappy Parquet (row groups of 10,000), written by DuckDB. */
export async function parquetOf(jsonl, parquet, shape, rowGroup = 10000) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const sql = (s) => `'${s.replace(/'/g, "''")}'`;
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const tmp = `${parquet}.tmp`;
    await c.run(`COPY (SELECT * FROM read_json(${sql(jsonl)}, format='newline_delimited', columns=${COLUMNS[shape]})) TO ${sql(tmp)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${rowGroup})`);
    renameSync(tmp, parquet);
  } finally {
    c.closeSync();
    db.closeSync();
  }
  return statSync(parquet).size;
}

/** The bench file of `shape` (JSON Lines of `bytes`, or its rows as Parquet), made once in `dir`. */
export async function hubFile(dir, shape, bytes, kind = 'jsonl') {
  const jsonl = resolve(dir, `${shape}-${bytes}.jsonl`);
  if (!existsSync(jsonl)) {
    process.stderr.write(`generating ${jsonl} (${(bytes / 1e6).toFixed(0)} MB)…\n`);
    const tmp = `${jsonl}.tmp`;
    await generateHub(tmp, bytes, shape);
    renameSync(tmp, jsonl);
  }
  if (kind === 'jsonl') return jsonl;
  const parquet = resolve(dir, `${shape}-${bytes}.parquet`);
  if (!existsSync(parquet)) {
    process.stderr.write(`writing ${parquet}…\n`);
    await parquetOf(jsonl, parquet, shape);
  }
  return parquet;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path, size, shape] = process.argv.slice(2);
  generateHub(path, Number(size ?? 100e6), shape ?? 'ultrafeedback').then((r) => {
    console.log(JSON.stringify(r));
    if (existsSync(`${path}.tmp`)) unlinkSync(`${path}.tmp`);
  });
}
