/**
 * The local control socket: `<data-dir>/control.sock`, one JSON object per line each way.
 * Request `{"op": "...", ...}`; response `{"ok": true, ...}` or `{"ok": false, "error": "..."}`.
 */
export const controlSocketPath = (dataDir: string): string => `${dataDir}/control.sock`;
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface ControlResponse {
  ok: boolean;
  error?: string;
  [k: string]: unknown;
}
