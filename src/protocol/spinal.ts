/** Messages between the SPINAL webview and the host (imported by both sides; docs/ARCHITECTURE.md, "Webviews"). */
import type { SpinalTrace } from '../core/contract.js';

/** Webview → host: it is ready for the traces. */
export type SpinalRequest = { type: 'ready' };

/** Host → webview. */
export type SpinalEvent = { type: 'traces'; traces: Array<{ label: string; trace: SpinalTrace }>; reference: string; file: string; lines: [number, number] };

/** Validates a message from the webview (untrusted): returns it typed, or null. */
export function parseSpinalRequest(m: unknown): SpinalRequest | null {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'ready' ? { type: 'ready' } : null;
}
