// Child process of bench/score (its own process so that peak RSS is this model's alone): loads a checkpoint folder
// with ScoringModel (graph built from config.json, weights read in place), reports the peak RSS of loading, then
// scores JOBS.json with runJobs and reports tokens/s, Σ logp over the response positions and the peak RSS.
// Usage: node bench/checkpoint-child.mjs DIR JOBS.json THREADS CACHE_DIR -> one JSON line
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const repo = resolve(import.meta.dirname, '..');
const { ScoringModel } = require(join(repo, 'out', 'src/core/engine/model.js'));
const { runJobs, defaultTokenBudget } = require(join(repo, 'out', 'src/core/engine/scorer.js'));
const [dir, jobsPath, threads, cacheDir] = process.argv.slice(2);
// VmHWM: this process's own peak (getrusage's maxRSS carries the parent's high-water mark across fork and exec).
const mb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const rss0 = mb();
let t = performance.now();
const model = await ScoringModel.load(dir, { provider: 'cpu', threads: Number(threads), cacheDir });
const loadS = (performance.now() - t) / 1000;
const loadPeak = mb();
const jobs = JSON.parse(readFileSync(jobsPath, 'utf8'));
const budget = defaultTokenBudget(model.config.vocabSize);
await runJobs(model, jobs.slice(0, 1), { tokenBudget: budget }); // warm-up
t = performance.now();
const stats = await runJobs(model, jobs, { tokenBudget: budget });
const s = (performance.now() - t) / 1000;
const tokens = jobs.reduce((a, j) => a + j.ids.length, 0);
const sumLogp = stats.reduce((a, st) => a + st.logp.reduce((x, y) => x + y, 0), 0);
console.log(JSON.stringify({ load_s: loadS, rss_base_mb: rss0, load_peak_mb: loadPeak, tokens, seconds: s, tok_s: tokens / s, sum_logp: sumLogp, peak_mb: mb(), budget, description: model.description }));
