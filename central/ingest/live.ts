/**
 * Ingest follows open shifts (docs/live-offload.md): while a camera records, it uploads sealed
 * segments and journal chunks `live/journal-<from>-<to>.jsonl`, each ending on a signature. Per
 * open shift this verifies each new chunk incrementally (agent/evidence/verify/incremental.ts: the
 * state after the last chunk is `live.json`, so nothing verified is read or hashed again) and keeps
 * under `<resultPrefix>/<deviceId>/<shiftId>/`:
 *   live.json    what is verified (`bodycam-ingest-live/1`, state included) and "verified through T"
 *   report.json  `{ open: true, verifiedThrough, verdict, summary, reasons, live, report: null }`
 * `result.json` is not touched: it stays the commit point of the ended shift (service.ts). Once a
 * shift has a result, or its manifest is uploaded (the end-of-shift verification takes over), it
 * is no longer followed.
 *
 * Which shifts: those the cameras' heartbeats name (on duty) and every recent shift that has
 * `live/` chunks (the store listing, as for ended shifts). Alerts (live-alerts.ts) watch the
 * cameras on duty.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../agent/lib/log.js';
import { describe } from '../../agent/lib/errors.js';
import { CHUNK_NAME, fetchAwaited, newLiveState, parseLiveState, segmentTally, verifyChunk, type LiveProblem, type LiveState } from '../../agent/evidence/verify/incremental.js';
import { openSentence } from '../../agent/evidence/verify/open-prefix.js';
import type { EvidenceStore, ShiftRef } from './store.js';
import type { DeviceRegistry } from './registry.js';
import type { PinnedObject } from './verify-shift.js';
import type { IngestMetrics } from './metrics.js';

export const LIVE_FILE = 'live.json';
export const LIVE_FORMAT = 'bodycam-ingest-live/1';
export const LIVE_DIR = 'live/';

/** `live.json`: what ingest has verified of an open shift. */
export interface LiveRecord {
  readonly format: typeof LIVE_FORMAT;
  readonly deviceId: string;
  readonly shiftId: string;
  /** false once a verified chunk holds shift_end. */
  readonly open: boolean;
  /** Covered from shift start through this time (RFC 3339), null before anything is. */
  readonly verifiedThrough: string | null;
  /** `at` of the last journal line the last verified signature covers: the journal is authenticated up to it. */
  readonly signedThrough: string | null;
  /** Journal lines verified, the last chunk's name, the chain head after it. */
  readonly lines: number;
  readonly chunks: number;
  readonly lastChunk: string | null;
  readonly head: string;
  readonly segments: { readonly verified: number; readonly awaited: readonly string[]; readonly altered: readonly string[] };
  /** Segment bytes hashed for this shift in all (each once). */
  readonly bytesHashed: number;
  /** Chunks and segments refused: a chain that does not continue, a missing chunk, a bad signature, altered media. */
  readonly problems: readonly LiveProblem[];
  /** A chain or signature problem stopped the follow: nothing after it can be authenticated. */
  readonly halted: boolean;
  /** The chunk the follow waits at now: a gap in line numbers (`chunk_gap`), null when none. */
  readonly waiting: LiveProblem | null;
  /** The exact object versions read: chunks by name, segments in `state.segments[*].versionId`. */
  readonly chunkVersions: Readonly<Record<string, PinnedObject>>;
  readonly worker: string;
  readonly updatedAt: string;
  /** The incremental verifier's state (agent/evidence/verify/incremental.ts). */
  readonly state: LiveState;
}

export interface LivePass {
  readonly ref: ShiftRef;
  readonly record: LiveRecord | undefined;
  readonly chunksVerified: number;
  readonly bytesHashed: number;
  readonly newProblems: readonly LiveProblem[];
}

export interface LiveFollowerDeps {
  readonly store: EvidenceStore;
  readonly registry: DeviceRegistry;
  readonly workerId: string;
  readonly metrics: IngestMetrics;
  readonly log: Logger;
  /** Publishes an alert payload (QoS 1) on `<root>central/alert`. */
  readonly alert: (payload: Record<string, unknown>) => Promise<void>;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export class LiveFollower {
  /** Shifts decided or handed to the end-of-shift verification: not followed again by this process. */
  private readonly ended = new Set<string>();

  constructor(private readonly d: LiveFollowerDeps) {}

  isEnded(r: ShiftRef): boolean {
    return this.ended.has(`${r.deviceId}/${r.shiftId}`);
  }

  async readLive(r: ShiftRef): Promise<LiveRecord | undefined> {
    const b = await this.d.store.get(this.d.store.resultKey(r, LIVE_FILE));
    if (!b) return undefined;
    const rec = JSON.parse(b.toString('utf8')) as LiveRecord;
    if (rec.format !== LIVE_FORMAT) return undefined;
    return { ...rec, state: parseLiveState(JSON.stringify(rec.state)) };
  }

  /** Does the shift have live chunks at all (one LIST of at most one key)? */
  async hasChunks(r: ShiftRef): Promise<boolean> {
    return (await this.d.store.keysAfter(this.d.store.shiftKey(r, LIVE_DIR))).length > 0;
  }

  /** One pass over one open shift: new chunks verified, awaited segments looked for, results written. */
  async follow(r: ShiftRef): Promise<LivePass> {
    const none: LivePass = { ref: r, record: undefined, chunksVerified: 0, bytesHashed: 0, newProblems: [] };
    const { store } = this.d;
    const k = `${r.deviceId}/${r.shiftId}`;
    if (this.ended.has(k)) return none;
    if ((await store.exists(store.resultKey(r, 'result.json'))) || (await store.exists(store.shiftKey(r, 'manifest.json')))) {
      this.ended.add(k);
      return none;
    }
    const key = this.d.registry.lookup(r.deviceId);
    if (!key.found) return none; // the end-of-shift verification refuses it, with the alert
    const prev = await this.readLive(r);
    const state = prev?.state ?? newLiveState(key.publicKey);
    const chunkVersions: Record<string, PinnedObject> = { ...(prev?.chunkVersions ?? {}) };
    const before = state.problems.length;
    let chunks = 0;
    let hashed = 0;
    let waiting: LiveProblem | null = null;
    if (!state.halted) {
      const liveDir = store.shiftKey(r, LIVE_DIR);
      const after = state.lastChunk ? liveDir + state.lastChunk : undefined;
      const names = (await store.keysAfter(liveDir, after)).map((x) => x.slice(liveDir.length)).filter((n) => CHUNK_NAME.test(n));
      const fetch = async (file: string) => store.getVersion(store.shiftKey(r, file));
      for (const name of names) {
        const got = await store.getVersion(liveDir + name);
        if (!got) break;
        chunkVersions[name] = { versionId: got.versionId, sha256: createHash('sha256').update(got.bytes).digest('hex'), bytes: got.bytes.length };
        const out = await verifyChunk(state, { name, bytes: got.bytes }, key.publicKey, fetch);
        hashed += out.bytesHashed;
        if (!out.accepted) {
          waiting = out.problems.find((p) => p.kind === 'chunk_gap') ?? null;
          break;
        }
        chunks++;
        if (chunks === 1 && state.chunks === 1) this.checkIdentity(state, r);
        if (state.halted) break;
      }
      if (chunks === 0 && !state.halted) hashed += await fetchAwaited(state, fetch, state.problems);
    }
    const newProblems = state.problems.slice(before);
    // A gap is alerted once, when first seen (the same gap on every later pass is not news).
    if (waiting && waiting.message !== prev?.waiting?.message) newProblems.push(waiting);
    const waitingChanged = (waiting?.message ?? null) !== (prev?.waiting?.message ?? null);
    this.d.metrics.liveChunks += chunks;
    this.d.metrics.liveBytesHashed += hashed;
    if (prev && chunks === 0 && hashed === 0 && newProblems.length === 0 && !waitingChanged) return { ...none, record: prev };
    const record = this.record(r, state, chunkVersions, waiting);
    // The end-of-shift verification may have decided meanwhile: its report.json stands.
    if (await store.exists(store.resultKey(r, 'result.json'))) {
      this.ended.add(k);
      return none;
    }
    await store.put(store.resultKey(r, LIVE_FILE), JSON.stringify(record, null, 2) + '\n', 'application/json');
    await store.put(store.resultKey(r, 'report.json'), JSON.stringify(openReport(record), null, 2) + '\n', 'application/json');
    const log = { worker: this.d.workerId, device: r.deviceId, shift: r.shiftId, verifiedThrough: record.verifiedThrough, lines: record.lines, chunks, bytesHashed: hashed };
    if (newProblems.length) {
      this.d.log.error('open shift refused', { ...log, reasons: newProblems.map((p) => `${p.kind} ${p.where}: ${p.message}`) });
      try {
        await this.d.alert({
          kind: 'live_refused', deviceId: r.deviceId, shiftId: r.shiftId, verifiedThrough: record.verifiedThrough, reasons: newProblems, report: store.resultKey(r, 'report.json'),
        });
      } catch (e) {
        this.d.log.warn('live alert not published', { ...log, err: describe(e) });
      }
    } else this.d.log.info('open shift verified', log);
    return { ref: r, record, chunksVerified: chunks, bytesHashed: hashed, newProblems };
  }

  /** The journal's own shift_start must name the device and shift it was uploaded as. */
  private checkIdentity(state: LiveState, r: ShiftRef): void {
    const bad = (kind: string, message: string): void => {
      state.problems.push({ kind, where: 'journal:1', message });
      state.halted = true;
    };
    if (state.deviceId !== r.deviceId) bad('device_mismatch', `the journal names device ${JSON.stringify(state.deviceId)}, uploaded by ${r.deviceId}`);
    else if (state.shiftId !== r.shiftId) bad('shift_mismatch', `the journal names shift ${JSON.stringify(state.shiftId)}, uploaded as ${r.shiftId}`);
  }

  private record(r: ShiftRef, s: LiveState, chunkVersions: Record<string, PinnedObject>, waiting: LiveProblem | null): LiveRecord {
    return {
      format: LIVE_FORMAT, deviceId: r.deviceId, shiftId: r.shiftId, open: !s.closed, verifiedThrough: iso(s.verifiedThrough), signedThrough: iso(s.signedAt),
      lines: s.lines, chunks: s.chunks, lastChunk: s.lastChunk, head: s.head, segments: segmentTally(s), bytesHashed: s.bytesHashed,
      problems: s.problems, halted: s.halted, waiting, chunkVersions, worker: this.d.workerId, updatedAt: new Date().toISOString(), state: s,
    };
  }
}

/** `report.json` of an open shift: the same name the final report has, marked open. */
export function openReport(rec: LiveRecord): Record<string, unknown> {
  const intact = rec.problems.length === 0;
  const reasons = rec.waiting ? [...rec.problems, rec.waiting] : rec.problems;
  const seg = rec.segments;
  // A camera on duty with no chunk in the store yet: nothing is verified, nothing is wrong.
  const pending = intact && rec.lines === 0;
  const summary = pending
    ? 'open, nothing verified yet: no live journal chunk in the store'
    : intact
    ? `${openSentence(rec.verifiedThrough)}: ${rec.lines} journal lines in ${rec.chunks} chunk(s) authenticated through ${rec.signedThrough ?? '?'}, ${seg.verified} segment(s) verified${seg.awaited.length ? `, ${seg.awaited.length} awaited` : ''}`
    : `TAMPERED while open: ${rec.problems.map((p) => `${p.kind} ${p.where}`).join('; ')}; covered from start through ${rec.verifiedThrough ?? '(nothing)'}`;
  const { state: _state, chunkVersions: _cv, ...live } = rec;
  const waitNote = rec.waiting ? `; waiting: ${rec.waiting.message}` : '';
  return { open: rec.open, verifiedThrough: rec.verifiedThrough, verdict: pending ? 'pending' : intact ? 'intact' : 'tampered', summary: summary + waitNote, reasons, live, report: null };
}
