/** The messages and timings of the live-run worker (liveWorker.ts), without its side effects, for the host to import. */
import type { RunView } from '../contract.js';

/** Host → worker: the runs to show (replacing those before), or stop. */
export type LiveRequest = { type: 'watch'; dirs: string[] } | { type: 'stop' };
/** Worker → host: the runs' views (all of them, whenever one changed), and runs that could not be read. */
export type LiveReply = { type: 'runs'; runs: RunView[]; errors: Array<{ dir: string; message: string }> };

/** A run written in the last LIVE_MS is live (the Runs view marks it so too). */
export const LIVE_MS = 5 * 60_000;
/** How often the shown runs are looked at: within 2 s from a write to the redrawn chart. */
export const POLL_MS = 500;

