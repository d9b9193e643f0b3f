/**
 * Structured logs: one JSON object per line on stderr, one namespace per component.
 * Levels mean something on a device with little flash: `debug` is off by default and nothing
 * logs per frame. BODYCAM_LOG=debug|info|warn|error sets the threshold; BODYCAM_LOG_FORMAT=text
 * prints a human line instead (the demo uses it).
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(ns: string): Logger;
}

type Sink = (line: string) => void;
/**
 * A log destination that went away (the reader of a pipe died, journald restarted) must not take
 * the agent with it: the failed write's 'error' event would otherwise be an uncaught exception,
 * whose handler logs, whose write fails again — a busy loop that starves recording (found when a
 * test runner died and left its agent spinning, deaf to its control socket). Logs are dropped
 * from then on; recording goes on.
 */
let stderrGone = false;
process.stderr.on('error', () => {
  stderrGone = true;
});
let sink: Sink = (line) => {
  if (!stderrGone && !process.stderr.destroyed) process.stderr.write(line + '\n');
};
let threshold: Level = parseLevel(process.env.BODYCAM_LOG) ?? 'info';
const textFormat = process.env.BODYCAM_LOG_FORMAT === 'text';

function parseLevel(v: string | undefined): Level | undefined {
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : undefined;
}

export function setLogSink(s: Sink): void {
  sink = s;
}
export function setLogLevel(l: Level): void {
  threshold = l;
}

function serialise(v: unknown): unknown {
  if (v instanceof Error) return { name: v.name, message: v.message };
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export function createLogger(ns: string): Logger {
  const emit = (level: Level, msg: string, fields?: Fields): void => {
    if (ORDER[level] < ORDER[threshold]) return;
    if (textFormat) {
      const extra = fields ? ' ' + Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(serialise(v))}`).join(' ') : '';
      sink(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${ns}] ${msg}${extra}`);
      return;
    }
    const rec: Record<string, unknown> = { t: new Date().toISOString(), level, ns, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = serialise(v);
    sink(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (sub) => createLogger(`${ns}.${sub}`),
  };
}
