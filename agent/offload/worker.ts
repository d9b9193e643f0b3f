/**
 * The upload worker: a child process of the agent that runs one offload job at low CPU and I/O
 * priority (the agent renices it), so hashing and TLS never compete with recording and the
 * agent's event loop (buttons, journal) never waits on an upload.
 *
 * IPC (JSON messages over the fork channel; ToWorker and FromWorker below):
 *   agent → worker: {type:'job', job} | {type:'device-journal', job} | {type:'live', job} | {type:'bandwidth', kbps} | {type:'stop'}
 *   worker → agent: {type:'manifest', sha256, bytesTotal, files} | {type:'progress', progress}
 *                   | {type:'part', part} | {type:'retry', error, attempt, delayMs}
 *                   | {type:'done', result} | {type:'snapshot', snapshot (null: nothing new signed)}
 *                   | {type:'live-plan', items} | {type:'live-stored', name} | {type:'live-done', report} (live offload, live-job.ts)
 *                   | {type:'error', message, fatal}
 * When the agent dies the IPC channel closes: the worker starts nothing new, lets a PutObject
 * whose body is already out finish and records it (its outcome could not be learnt later, see
 * uploader.ts), then exits within DRAIN_MS: no orphan uploads.
 */
import { createLogger } from '../lib/log.js';
import { EvidenceError, describe } from '../lib/errors.js';
import { runOffloadJob, type OffloadJob, type RunHooks } from './job.js';
import { runDeviceJournalJob, type DeviceJournalJob, type DeviceJournalSnapshot } from './device-journal.js';
import { runLiveJob, type LiveJob, type LivePlanItem, type LiveReport } from './live-job.js';
import type { UploadProgress } from './uploader.js';

export type ToWorker =
  | { type: 'job'; job: OffloadJob } | { type: 'device-journal'; job: DeviceJournalJob } | { type: 'live'; job: LiveJob }
  | { type: 'bandwidth'; kbps: number } | { type: 'stop' };

export type FromWorker =
  | { type: 'manifest'; sha256: string; bytesTotal: number; files: number; resumed: boolean }
  | { type: 'progress'; progress: UploadProgress }
  | { type: 'part'; part: unknown }
  | { type: 'retry'; error: string; attempt: number; delayMs: number }
  | { type: 'done'; result: { shiftId: string; manifestSha256: string; objects: number; bytes: number; stats: { partsSent: number; partsReused: number; objectsLive?: number } } }
  | { type: 'snapshot'; snapshot: DeviceJournalSnapshot | null }
  | { type: 'live-plan'; items: LivePlanItem[] }
  | { type: 'live-stored'; name: string }
  | { type: 'live-done'; report: LiveReport }
  | { type: 'error'; message: string; fatal: boolean; aborted: boolean };

const log = createLogger('offload.worker');
const ac = new AbortController();
let kbps = 0;
/** The job being run; settles once every request in flight has. */
let current: Promise<unknown> | undefined;
/** Longest wait for requests in flight after the agent went away (a 1–8 MiB PutObject on a LAN takes well under it). */
const DRAIN_MS = 5000;

function send(msg: FromWorker): void {
  if (process.connected) process.send!(msg);
}

// Started with --no-warnings: Node's own warning printer would write unstructured lines (the AWS
// SDK warns about the Node version it will need in 2027) into the agent's log.
process.on('warning', (w) => log.info('node warning', { name: w.name, warning: w.message }));

process.on('disconnect', () => {
  ac.abort(new Error('agent went away'));
  if (!current) process.exit(0);
  setTimeout(() => process.exit(0), DRAIN_MS).unref();
  void current.finally(() => process.exit(0));
});

process.on('message', (raw: unknown) => {
  const m = raw as ToWorker;
  if (m.type === 'bandwidth') kbps = m.kbps;
  else if (m.type === 'stop') {
    ac.abort(new Error('stopped by the agent'));
  } else if (m.type === 'job') {
    kbps = m.job.bandwidthKbps;
    current = runOffloadJob(m.job, {
      ...hooks(),
      onManifest: (pm, bytesTotal, resumed) => send({ type: 'manifest', sha256: pm.sha256, bytesTotal, files: pm.manifest.files.length + 1, resumed }),
    }).then(
      (r) => finish({ type: 'done', result: { shiftId: r.shiftId, manifestSha256: r.manifestSha256, objects: r.objects, bytes: r.bytes, stats: r.state.stats } }),
      fail,
    );
  } else if (m.type === 'device-journal') {
    kbps = m.job.bandwidthKbps;
    current = runDeviceJournalJob(m.job, hooks()).then((snapshot) => finish({ type: 'snapshot', snapshot: snapshot ?? null }), fail);
  } else if (m.type === 'live') {
    kbps = m.job.bandwidthKbps;
    current = runLiveJob(m.job, {
      ...hooks(),
      onPlan: (items) => send({ type: 'live-plan', items: [...items] }),
      onStored: (name) => send({ type: 'live-stored', name }),
    }).then((report) => finish({ type: 'live-done', report }), fail);
  }
});

function hooks(): RunHooks {
  return {
    log,
    signal: ac.signal,
    bandwidthKbps: () => kbps,
    on: {
      progress: (progress) => send({ type: 'progress', progress }),
      part: (part) => send({ type: 'part', part }),
      retry: (error, attempt, delayMs) => send({ type: 'retry', error, attempt, delayMs }),
    },
  };
}

function finish(msg: FromWorker): void {
  send(msg);
  // Already gone when the agent died mid-job (the drain above then exits).
  if (process.connected) process.disconnect();
}

function fail(e: unknown): void {
  finish({ type: 'error', message: describe(e), fatal: e instanceof EvidenceError, aborted: ac.signal.aborted });
}

if (!process.send) {
  console.error('offload worker: run by the agent (needs an IPC channel)');
  process.exit(2);
}
