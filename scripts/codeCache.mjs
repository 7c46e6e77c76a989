// V8 code caches of the CLI's and the scan worker's bundles (docs/ARCHITECTURE.md, "Start-up"): the build runs the
// built CLI with PREFLENS_CODE_CACHE=write on training files made here (a hub-shaped Parquet file large enough for a
// scan worker, JSON Lines fixtures of the repository); each launcher then writes `<bundle>.cache` with the bytecode of
// every function the run compiled, and later runs take it instead of compiling those functions again. The training
// files hold no user data and are removed; the caches are a build output like the bundles (not in the VSIX: VS Code's
// V8 would not take them).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';

const CACHES = ['dist/cli.bundle.js.cache', 'dist/scanWorker.bundle.js.cache'];

/** UltraFeedback-shaped rows (prompt, chosen/rejected conversations, scores; some repeated): about 30 MB of text. */
function writeTrainingParquet(file) {
  const string = (name) => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
  const messages = (name) => [
    { name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
    string('content'),
    string('role'),
  ];
  const schema = [
    { name: 'root', num_children: 5 },
    string('prompt'),
    ...messages('chosen'),
    ...messages('rejected'),
    { name: 'score_chosen', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    { name: 'score_rejected', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  ];
  const writer = new ParquetWriter({ writer: fileWriter(file), schema });
  const words = 'the a model answer question helpful because first then finally data training preference reward policy'.split(' ');
  // unique texts (no dictionary pages, as in most hub files), of varied lengths
  const text = (seed, n) => Array.from({ length: n }, (_, k) => (k % 9 === 4 ? String(seed * 13 + k) : words[(seed * 31 + k * 7 + (k >> 3)) % words.length])).join(' ') + '.';
  const groups = 10;
  const rows = 2000;
  for (let g = 0; g < groups; g++) {
    const cols = { prompt: [], chosen: [], rejected: [], score_chosen: [], score_rejected: [] };
    for (let r = 0; r < rows; r++) {
      // every 97th row repeats one of an earlier row group (duplicates within and across row groups)
      const i = r % 97 === 0 && g > 0 ? (g - 1) * rows + r : g * rows + r;
      const prompt = `Question ${i}: ${text(i, 40)}`;
      cols.prompt.push(prompt);
      cols.chosen.push([{ content: prompt, role: 'user' }, { content: text(i + 1, 120 + (i % 150)), role: 'assistant' }]);
      cols.rejected.push([{ content: prompt, role: 'user' }, { content: i % 50 === 0 ? '' : text(i + 2, 100 + (i % 120)), role: 'assistant' }]);
      cols.score_chosen.push(8 + (i % 3));
      cols.score_rejected.push(i % 11 === 0 ? 8 + (i % 3) : 4);
    }
    writer.write({ columnData: Object.entries(cols).map(([name, data]) => ({ name, data })), rowGroupSize: rows });
  }
  writer.finish();
}

/** Makes the caches. A training run that fails fails the build, and leaves no cache behind. */
export function makeCodeCaches() {
  for (const c of CACHES) rmSync(c, { force: true });
  const dir = mkdtempSync(join(tmpdir(), 'preflens-code-cache-'));
  try {
    const parquet = join(dir, 'train.parquet');
    writeTrainingParquet(parquet);
    const runs = [
      ['stats', parquet, '--json', '--workers', '2'],
      ['stats', 'test/fixtures/ultrafeedback-binarized.jsonl', '--json'],
      ['stats', 'test/fixtures/trl-standard.jsonl', '--json'],
      ['stats', 'test/fixtures/hh.jsonl', '--json'],
    ];
    for (const args of runs) {
      const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { env: { ...process.env, PREFLENS_CODE_CACHE: 'write' }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`code cache: preflens ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    }
  } catch (e) {
    for (const c of CACHES) rmSync(c, { force: true });
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
