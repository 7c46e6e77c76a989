/** The webview side of the host channel, typed by the protocol module. */
interface VsCodeApi<Req> {
  postMessage(m: Req): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi<Req>(): VsCodeApi<Req>;

export function hostChannel<Req, Ev>(onEvent: (e: Ev) => void): VsCodeApi<Req> {
  const api = acquireVsCodeApi<Req>();
  window.addEventListener('message', (e: MessageEvent<Ev>) => onEvent(e.data));
  return api;
}

/** Creates an element with text content only: dataset text never goes through innerHTML. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function initData<T>(): T {
  return JSON.parse(document.body.dataset.init ?? '{}') as T;
}
