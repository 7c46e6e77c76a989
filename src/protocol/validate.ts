/** Checks shared by the validators of webview messages (the host never trusts what a webview sends). */

/** An integer in [min, max]. */
export function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
