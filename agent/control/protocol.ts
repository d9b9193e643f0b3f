/**
 * The local control socket: `<data-dir>/control.sock` (mode 0660), one JSON object per line each
 * way, at most 64 KiB per request. Request `{"op": "...", ...}`; response `{"ok": true, ...}` or
 * `{"ok": false, "error": "..."}`. Ops and the CLI command that speaks each:
 *   status                                   bodycam status      → {status: StatusSnapshot}
 *   press  {button, holdS?, count?}          bodycam press       (virtual buttons only)
 *   sim    {set: {docked?, batteryPct?, …}}  bodycam sim         → {sim: SimState, scene?} (sim boards only)
 *   offload {…}                              bodycam offload     (agent/offload/extension.ts)
 *   command {payload: base64 SignedCommand}  bodycam command     (agent/commands/extension.ts)
 * e.g. `echo '{"op":"sim","set":{"docked":true}}' | socat - UNIX-CONNECT:/var/lib/bodycam/control.sock`.
 */
export const controlSocketPath = (dataDir: string): string => `${dataDir}/control.sock`;
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface ControlResponse {
  ok: boolean;
  error?: string;
  [k: string]: unknown;
}
