/**
 * The run panel's long-lived worker (docs/ARCHITECTURE.md, "Training runs"): it keeps one incremental RunReader per
 * run shown, looks for writes every 500 ms, and posts the panel's view of the runs (view.ts: NaN as gaps, long curves
 * thinned) whenever one changed, so that reading, composing and thinning never run on the extension host's thread,
 * and a garbage collection of this worker's heap never pauses it.
 */
import { parentPort } from 'node:worker_threads';
import { RunReader } from '../core/runs/runs.js';
import { runView } from '../core/runs/view.js';
import { hasRollouts } from '../core/rollouts/rollouts.js';
import type { RunView } from '../core/contract.js';
import { LIVE_MS, type LiveReply, type LiveRequest, POLL_MS } from '../core/runs/live.js';

const port = parentPort;
let readers: RunReader[] = [];
const drawn = new Map<RunReader, number>();
let timer: ReturnType<typeof setInterval> | null = null;

function look(force: boolean): void {
  if (!port) return;
  const errors: LiveReply['errors'] = [];
  let changed = force;
  for (const r of readers) {
    try {
      r.update();
    } catch (e) {
      errors.push({ dir: r.dir, message: e instanceof Error ? e.message : String(e) });
      continue;
    }
    if (drawn.get(r) !== r.version) changed = true;
  }
  if (!changed) return;
  const runs: RunView[] = [];
  for (const r of readers) {
    if (r.version === 0) continue;
    drawn.set(r, r.version);
    runs.push({ ...runView(r.run(), Date.now() - r.lastWrite < LIVE_MS), rollouts: hasRollouts(r.dir) });
  }
  port.postMessage({ type: 'runs', runs, errors } satisfies LiveReply);
}

if (port)
  port.on('message', (m: LiveRequest) => {
    if (m.type === 'stop') {
      if (timer) clearInterval(timer);
      timer = null;
      readers = [];
      return;
    }
    readers = m.dirs.map((d) => new RunReader(d, true));
    drawn.clear();
    look(true);
    timer ??= setInterval(() => look(false), POLL_MS);
  });
