/**
 * The page's side of the contract (src/extension/protocol.ts): typed `post`, a listener for the
 * host's messages, and the persisted state the serializers revive panels from.
 *
 * `acquireVsCodeApi` exists only inside VS Code; a report exported to a standalone HTML file runs
 * without it (see `standaloneData`), and the browser tests define a fake one.
 */
import { WebviewMessageType, type HostMessage, type PanelState, type WebviewMessage } from '../../../src/extension/protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

let api: VsCodeApi | undefined;

function vscodeApi(): VsCodeApi | undefined {
  if (api) return api;
  if (typeof acquireVsCodeApi === 'function') api = acquireVsCodeApi();
  return api;
}

/** True inside a VS Code webview (or the tests' fake of one). */
export function hasHost(): boolean {
  return vscodeApi() !== undefined;
}

export function post(message: WebviewMessage): void {
  vscodeApi()?.postMessage(message);
}

/** Call `handler` for every message of the host; returns a function that stops listening. */
export function onHostMessage(handler: (message: HostMessage) => void): () => void {
  const listener = (e: MessageEvent) => {
    const data = e.data as HostMessage | undefined;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
    try {
      handler(data);
    } catch (err) {
      reportError(err);
    }
  };
  window.addEventListener('message', listener);
  return () => window.removeEventListener('message', listener);
}

/** The state saved by an earlier life of this panel, else the one the host wrote into the page. */
export function initialState<S extends PanelState>(kind: S['kind']): S | undefined {
  const saved = vscodeApi()?.getState() as S | undefined;
  if (saved && saved.kind === kind) return saved;
  const attr = document.body.dataset.state;
  if (!attr) return undefined;
  try {
    const s = JSON.parse(attr) as S;
    return s.kind === kind ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveState(state: PanelState): void {
  vscodeApi()?.setState(state);
}

/** Send page errors to the host's output channel (and the console). */
export function reportError(err: unknown): void {
  const message = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
  console.error(message);
  post({ type: WebviewMessageType.Error, message });
}

export function installErrorReporting(): void {
  window.addEventListener('error', (e) => reportError(e.error ?? e.message));
  window.addEventListener('unhandledrejection', (e) => reportError(e.reason));
}

/** Data embedded in a standalone page (`<script type="application/json" id="cvw-data">`). */
export function standaloneData<T>(): T | undefined {
  const el = document.getElementById('cvw-data');
  if (!el?.textContent) return undefined;
  return JSON.parse(el.textContent) as T;
}
