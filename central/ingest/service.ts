/**
 * `bodycam central ingest`: the service that closes the offload loop. Every shift a camera
 * uploads is verified and, only when intact, confirmed with a signed `confirm_offload` naming its
 * manifest hash; a refused shift raises an alert. Several workers split the work.
 *
 * Where work comes from:
 * - fast path: the cameras' `offload` journal records with `event: uploaded`, which their
 *   telemetry publishes as protobuf Events on `<root><deviceId>/event` (QoS 1); the workers share
 *   one MQTT 5 subscription `$share/<group>/<root>+/event`, so each event reaches one worker;
 * - the guarantee: a listing of recent uploads in the store at start and every `rescanS`. It finds
 *   what arrived while every worker was down, events the broker dropped, and shifts a killed worker
 *   left half-done. Events are a hint, the store is the truth (see README "Central ingest").
 *
 * Per shift (`concurrency` at a time per worker, never one shift twice at once), results under `<resultPrefix>/<deviceId>/<shiftId>/`:
 *   1. `result.json` present → already decided: if it says verified and no `confirm.json` exists,
 *      the confirmation is (re)published from it; nothing is verified again.
 *   2. no `manifest.json` yet → waiting (the upload is not complete).
 *   3. claim the shift (claim.ts); a live claim of another worker → waiting.
 *   4. verify (verify-shift.ts); write `report.json`, `timeline.html`, then `result.json` last: the
 *      commit point. A worker killed before it leaves no result, and the shift is done again.
 *   5. verified → publish the signed confirm (QoS 1, acknowledged by the broker), then write
 *      `confirm.json`; refused → publish the alert.
 * A confirm is derived only from a complete `result.json`, and a result is never replaced (a
 * worker that finds one adopts it), so no two confirmations for one shift differ.
 *
 * A confirmation can still be lost for good (the camera's broker session expired while it was off,
 * or the command expired in its queue), and then the camera keeps its copy for ever. So the
 * workers also share the cameras' heartbeats: a shift a camera still lists as awaiting
 * confirmation, that this store has confirmed more than RECONFIRM_GRACE_S ago, is confirmed again
 * (a fresh signed command naming the same manifest; `confirm.json` gets a new version).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createPublicKey, type KeyObject } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger, type Logger } from '../../agent/lib/log.js';
import { Backoff } from '../../agent/lib/backoff.js';
import { BodycamError, describe } from '../../agent/lib/errors.js';
import { loadPrivateKey } from '../../agent/evidence/crypto.js';
import { renderHtml } from '../../agent/evidence/html-report.js';
import { pb } from '../../agent/telemetry/proto.js';
import { sha256Hex } from '../../agent/offload/manifest.js';
import type { IngestConfig } from './config.js';
import { DeviceRegistry } from './registry.js';
import { EvidenceStore, SHIFT_ID, type ShiftRef } from './store.js';
import { claimShift } from './claim.js';
import { ManifestMissing, verifyUploadedShift, type ShiftVerification } from './verify-shift.js';
import { alertPayload, alertTopic, confirmTopic, signedConfirm } from './confirm.js';
import type { LivePass } from './live.js';
import { OpenShifts, refKey } from './open-shifts.js';
import { IngestMetrics } from './metrics.js';

export const RESULT_FILE = 'result.json';
export const REPORT_FILE = 'report.json';
export const TIMELINE_FILE = 'timeline.html';
export const CONFIRM_FILE = 'confirm.json';
export const RESULT_FORMAT = 'bodycam-ingest-result/1';

/** The commit record of one shift (`result.json`). */
export interface IngestResult {
  readonly format: typeof RESULT_FORMAT;
  readonly verdict: 'verified' | 'refused';
  readonly deviceId: string;
  readonly shiftId: string;
  readonly manifestSha256: string;
  readonly bytes: number;
  readonly objects: number;
  readonly reasons: ShiftVerification['reasons'];
  /** The verifier's own verdict and summary (null when it could not run). */
  readonly verifier: { verdict: string; summary: string; keyId: string } | null;
  readonly worker: string;
  readonly verifiedAt: string;
  readonly verifySeconds: number;
  /**
   * The exact object versions verified (VersionId, SHA-256, bytes per file, manifest.json
   * included): a camera keeps PutObject on its prefix, so whoever reads the evidence afterwards
   * reads these versions (readVerifiedObject), never "the latest".
   */
  readonly versions: ShiftVerification['versions'];
}

export type Outcome = 'verified' | 'refused' | 'already' | 'waiting' | 'error';

/**
 * How long after a confirmation a camera may still list the shift as awaiting before it is sent
 * again: delivery on a live session takes well under a second, and a heartbeat built just before
 * the confirm arrived must not trigger a second one.
 */
export const RECONFIRM_GRACE_S = 10;

/** MQTT 5 subscription identifier of the plain (every worker) heartbeat subscription: liveness for live alerts. */
const LIVENESS_SUB_ID = 7;

export class IngestService {
  readonly metrics: IngestMetrics;
  private readonly log: Logger = createLogger('ingest');
  private readonly registry: DeviceRegistry;
  private store!: EvidenceStore;
  private client: MqttClient | undefined;
  private commandKey!: KeyObject;
  private central: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
  private readonly queue: ShiftRef[] = [];
  private readonly queued = new Set<string>();
  /** Shifts this worker has decided or found decided: never handled again by this process. */
  private readonly done = new Set<string>();
  /** Shifts already logged at info as waiting for their manifest: later rescans log at debug, so an
   * open shift followed live for hours does not write one info line per rescan. */
  private readonly waitLogged = new Set<string>();
  /** Shifts being handled now (never two handlings of one shift in one worker). */
  private readonly active = new Set<string>();
  private stopping = false;
  private rescanTimer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly backoffs = new Map<string, Backoff>();
  /** When this worker last looked at a shift a heartbeat listed as awaiting (ms): one look per grace. */
  private readonly reconfirmLooked = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];
  /** Shifts still recording: followed live, and their alerts (open-shifts.ts). */
  private open!: OpenShifts;
  /** Shifts seen in the last store listing (live scan candidates). */
  private recent: ShiftRef[] = [];
  /** Outcomes of this process, per shift (the --once summary, tests). */
  readonly outcomes = new Map<string, Outcome>();

  constructor(private readonly cfg: IngestConfig) {
    this.metrics = new IngestMetrics(cfg.metricsFile, cfg.workerId);
    this.registry = new DeviceRegistry(cfg.registryDir);
  }

  /** Keys, store, broker; then (unless `once`) the shared subscription and the rescan timer. */
  async start(o: { once?: boolean } = {}): Promise<void> {
    this.commandKey = loadPrivateKey(this.cfg.commandKey, 'ed25519', 'central command key');
    if (this.cfg.centralKey) {
      const privateKey = loadPrivateKey(this.cfg.centralKey, 'x25519', 'central private key');
      this.central = { privateKey, publicKey: createPublicKey(privateKey) };
    }
    mkdirSync(this.cfg.workDir, { recursive: true, mode: 0o700 });
    this.store = new EvidenceStore(this.cfg.s3);
    this.open = new OpenShifts({
      cfg: this.cfg, store: this.store, registry: this.registry, metrics: this.metrics, log: this.log,
      publish: (t, p) => this.publish(t, p), isDone: (r) => this.done.has(refKey(r)), recent: () => this.recent,
    });
    this.client = await this.connect(!o.once);
    this.metrics.flush();
    this.log.info('ingest started', {
      worker: this.cfg.workerId, bucket: this.cfg.s3.bucket, keyPrefix: this.cfg.s3.keyPrefix, resultPrefix: this.cfg.s3.resultPrefix,
      subscription: o.once ? null : this.subscription(), rescanS: o.once ? null : this.cfg.rescanS,
    });
    await this.rescan();
    if (!o.once) {
      this.scheduleRescan();
      this.open.schedule();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.rescanTimer);
    this.open?.stop();
    for (const t of this.retryTimers) clearTimeout(t);
    await new Promise<void>((r) => (this.client ? this.client.end(false, {}, () => r()) : r()));
    this.store?.destroy();
    this.metrics.flush();
  }

  /** Resolves when the queue is empty and nothing is being handled (`--once`). */
  idle(): Promise<void> {
    if (this.active.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private subscription(): string {
    return `$share/${this.cfg.mqtt.shareGroup}/${this.cfg.mqtt.topicRoot}+/event`;
  }

  private heartbeatSubscription(): string {
    return `$share/${this.cfg.mqtt.shareGroup}/${this.cfg.mqtt.topicRoot}+/heartbeat`;
  }

  private connect(subscribe: boolean): Promise<MqttClient> {
    const m = this.cfg.mqtt;
    const client = mqtt.connect(m.url, {
      protocolVersion: 5,
      clientId: m.clientId,
      // Clean session: events missed while down are found by the store listing, not by a queue
      // that would pile up at the broker for a retired worker id.
      clean: true,
      reconnectPeriod: 2000,
      connectTimeout: 15_000,
      ...(m.ca ? { ca: readFileSync(m.ca) } : {}),
      ...(m.cert ? { cert: readFileSync(m.cert) } : {}),
      ...(m.key ? { key: readFileSync(m.key) } : {}),
    });
    client.on('message', (topic, payload, packet) => {
      const ids = packet.properties?.subscriptionIdentifier;
      if ((Array.isArray(ids) ? ids : [ids]).includes(LIVENESS_SUB_ID)) this.open.heartbeat(topic, payload);
      // The same heartbeat may also come through the shared subscription (without that id).
      else this.onEvent(topic, payload);
    });
    client.on('connect', () => {
      if (!subscribe) return;
      for (const topic of [this.subscription(), this.heartbeatSubscription()]) {
        client.subscribe(topic, { qos: 1 }, (err, granted) => {
          const code = granted?.[0]?.qos;
          if (err || code === undefined || code > 2) this.log.error('shared subscription refused', { topic, err: err ? describe(err) : `reason code ${code}` });
          else this.log.info('subscribed', { topic });
        });
      }
      const liveness = `${this.cfg.mqtt.topicRoot}+/heartbeat`;
      client.subscribe(liveness, { qos: 0, properties: { subscriptionIdentifier: LIVENESS_SUB_ID } }, (err) => {
        if (err) this.log.error('heartbeat subscription refused', { topic: liveness, err: describe(err) });
      });
    });
    client.on('error', (e) => this.log.warn('broker error', { err: describe(e) }));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        client.end(true);
        reject(new BodycamError('PROTOCOL', `cannot connect to ${m.url} within 20 s`));
      }, 20_000);
      client.once('connect', () => {
        clearTimeout(t);
        resolve(client);
      });
    });
  }

  // ------------------------------------------------------------------ sources of work

  private onEvent(topic: string, payload: Buffer): void {
    const root = this.cfg.mqtt.topicRoot;
    if (topic.startsWith(root) && topic.endsWith('/heartbeat')) return this.onHeartbeat(topic.slice(root.length, -'/heartbeat'.length), payload);
    if (!topic.startsWith(root) || !topic.endsWith('/event')) return;
    const deviceId = topic.slice(root.length, -'/event'.length);
    let rec: Record<string, unknown>;
    try {
      const ev = pb.Event.decode(payload);
      if (ev.type !== 'offload') return;
      // The broker's ACL ties the topic to the camera's certificate; the payload must agree.
      if (ev.deviceId !== deviceId) {
        this.log.warn('event device id differs from its topic: ignored', { topic, deviceId: ev.deviceId });
        return;
      }
      rec = JSON.parse(ev.journalLine) as Record<string, unknown>;
    } catch (e) {
      this.log.warn('undecodable event ignored', { topic, err: describe(e) });
      return;
    }
    if (rec.event !== 'uploaded' || typeof rec.shift !== 'string' || !SHIFT_ID.test(rec.shift)) return;
    this.log.info('upload announced', { device: deviceId, shift: rec.shift, manifestSha256: rec.manifest_sha256 });
    this.enqueue({ deviceId, shiftId: rec.shift });
  }

  /**
   * One pass over open shifts now (open-shifts.ts): tests call it instead of waiting for
   * `liveScanS`; the store listing runs one after each rescan.
   */
  scanLive(): Promise<LivePass[]> {
    return this.open.pass();
  }

  /** Shifts the cameras' heartbeats say are on duty (every heartbeat reaches every worker). */
  onDutyShifts(): ShiftRef[] {
    return this.open.onDuty();
  }

  /** A camera's heartbeat: shifts it still lists as awaiting confirmation are looked at again. */
  private onHeartbeat(deviceId: string, payload: Buffer): void {
    let ids: string[];
    try {
      const hb = pb.Heartbeat.decode(payload);
      if (hb.deviceId !== deviceId) return;
      ids = hb.storage?.awaitingConfirmation ?? [];
    } catch (e) {
      this.log.warn('undecodable heartbeat ignored', { deviceId, err: describe(e) });
      return;
    }
    const now = Date.now();
    for (const shiftId of ids) {
      if (!SHIFT_ID.test(shiftId)) continue;
      const k = refKey({ deviceId, shiftId });
      if (now - (this.reconfirmLooked.get(k) ?? 0) < RECONFIRM_GRACE_S * 1000) continue;
      this.reconfirmLooked.set(k, now);
      void this.reconfirm({ deviceId, shiftId }).catch((e: unknown) => this.log.warn('re-confirmation failed; the next heartbeat tries again', { device: deviceId, shift: shiftId, err: describe(e) }));
    }
  }

  /**
   * The camera still lists a shift as awaiting confirmation. Decided and confirmed here more than
   * RECONFIRM_GRACE_S ago → the confirmation is sent again. Not decided yet → the normal path
   * (queue) handles it; refused → nothing to confirm.
   */
  private async reconfirm(r: ShiftRef): Promise<void> {
    const result = await this.readResult(r);
    if (!result) {
      this.enqueue(r);
      return;
    }
    if (result.verdict !== 'verified') return;
    const key = this.store.resultKey(r, CONFIRM_FILE);
    const last = await this.store.get(key);
    const prev = last ? (JSON.parse(last.toString('utf8')) as { at?: string; resent?: number }) : undefined;
    const at = Date.parse(prev?.at ?? '');
    if (prev && Number.isFinite(at) && Date.now() - at < RECONFIRM_GRACE_S * 1000) return;
    const resent = (prev?.resent ?? 0) + (prev ? 1 : 0);
    await this.publishConfirm(r, result, resent);
    this.log.warn('confirm re-sent: the camera still lists the shift as awaiting confirmation', { worker: this.cfg.workerId, device: r.deviceId, shift: r.shiftId, resent });
  }

  /** Lists recent uploads and queues every shift this worker has not decided. */
  async rescan(): Promise<number> {
    let refs: ShiftRef[];
    try {
      refs = await this.store.recentShifts(Date.now() - this.cfg.lookbackH * 3600_000);
    } catch (e) {
      this.log.error('cannot list recent uploads', { err: describe(e) });
      return 0;
    }
    let n = 0;
    for (const r of refs) if (this.enqueue(r)) n++;
    this.log.debug('rescan', { shifts: refs.length, queued: n });
    this.recent = refs;
    await this.scanLive();
    return n;
  }

  private scheduleRescan(): void {
    if (this.stopping) return;
    this.rescanTimer = setTimeout(() => {
      void this.rescan().finally(() => this.scheduleRescan());
    }, this.cfg.rescanS * 1000);
  }

  private enqueue(r: ShiftRef): boolean {
    const k = refKey(r);
    if (this.stopping || this.done.has(k) || this.queued.has(k) || this.active.has(k)) return false;
    this.queued.add(k);
    this.queue.push(r);
    this.pump();
    return true;
  }

  /**
   * Starts queued shifts up to `concurrency` at once. A shift's time is mostly S3 round trips
   * (about 16 requests), not CPU: the fleet bench measured 0.05 s of CPU in 0.25-1 s of wall per
   * shift, so one worker verifies several shifts at a time.
   */
  private pump(): void {
    while (!this.stopping && this.queue.length && this.active.size < this.cfg.concurrency) {
      const r = this.queue.shift()!;
      const k = refKey(r);
      this.queued.delete(k);
      this.active.add(k);
      void this.handle(r).then((outcome) => {
        this.active.delete(k);
        this.outcomes.set(k, outcome);
        if (outcome === 'verified' || outcome === 'refused' || outcome === 'already') {
          this.done.add(k);
          this.backoffs.delete(k);
        }
        if (outcome === 'error') this.retryLater(r);
        this.pump();
        if (this.active.size === 0 && this.queue.length === 0) {
          const w = this.idleWaiters;
          this.idleWaiters = [];
          for (const f of w) f();
        }
      });
    }
  }

  private retryLater(r: ShiftRef): void {
    if (this.stopping) return;
    let b = this.backoffs.get(refKey(r));
    if (!b) this.backoffs.set(refKey(r), (b = new Backoff({ initialMs: 1000, maxMs: 60_000 })));
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      this.enqueue(r);
    }, b.next());
    this.retryTimers.add(t);
  }

  // ------------------------------------------------------------------ one shift

  /** Decides one shift; every failure of the store or broker is an 'error' outcome, retried later. */
  async handle(r: ShiftRef): Promise<Outcome> {
    const log = { worker: this.cfg.workerId, device: r.deviceId, shift: r.shiftId };
    try {
      const existing = await this.readResult(r);
      if (existing) {
        if (existing.verdict === 'verified') await this.confirm(r, existing);
        this.log.info('shift already decided', { ...log, result: existing.verdict, by: existing.worker, manifestSha256: existing.manifestSha256 });
        return 'already';
      }
      if (!(await this.store.exists(this.store.shiftKey(r, 'manifest.json')))) {
        this.metrics.waiting++;
        this.metrics.flush();
        const k = `${r.deviceId}/${r.shiftId}`;
        const level = this.waitLogged.has(k) ? 'debug' : 'info';
        this.waitLogged.add(k);
        this.log[level]('shift waiting', { ...log, result: 'waiting', why: 'manifest not uploaded yet' });
        return 'waiting';
      }
      this.waitLogged.delete(`${r.deviceId}/${r.shiftId}`);
      const claim = await claimShift(this.store, r, this.cfg.workerId, this.cfg.claimTtlS * 1000);
      if (!claim.won) {
        this.log.info('shift waiting', { ...log, result: 'waiting', why: `claimed by ${claim.holder} since ${new Date(claim.sinceMs).toISOString()}` });
        // Not done: the next rescan looks again (the claimant may die before deciding).
        return 'waiting';
      }
      this.log.info('shift verifying', log);
      const t0 = performance.now();
      let v: ShiftVerification;
      try {
        v = await verifyUploadedShift({ store: this.store, registry: this.registry, ref: r, workDir: this.cfg.workDir, central: this.central });
      } catch (e) {
        if (!(e instanceof ManifestMissing)) throw e;
        this.log.info('shift waiting', { ...log, result: 'waiting', why: e.message });
        return 'waiting';
      }
      const seconds = (performance.now() - t0) / 1000;
      // Someone decided meanwhile (a claim that outlived its TTL): theirs stands, ours is dropped.
      const raced = await this.readResult(r);
      if (raced) {
        this.log.warn('shift decided by another worker during verification; keeping its result', { ...log, by: raced.worker });
        if (raced.verdict === 'verified') await this.confirm(r, raced);
        return 'already';
      }
      const result = await this.writeResult(r, v, seconds);
      this.metrics.verifyCount++;
      this.metrics.verifySecondsSum += seconds;
      this.metrics.bytes += v.bytes;
      if (v.verdict === 'verified') {
        this.metrics.verified++;
        await this.confirm(r, result);
        this.log.info('shift verified', { ...log, result: 'verified', manifestSha256: v.manifestSha256, bytes: v.bytes, objects: v.objects, verifyS: Number(seconds.toFixed(3)) });
      } else {
        this.metrics.refused++;
        await this.publish(alertTopic(this.cfg.mqtt.topicRoot), alertPayload(v, this.store.resultKey(r, RESULT_FILE), this.cfg.workerId));
        this.metrics.alertsPublished++;
        this.log.error('shift refused', { ...log, result: 'refused', manifestSha256: v.manifestSha256, reasons: v.reasons.map((x) => `${x.kind} ${x.where}: ${x.message}`) });
      }
      this.metrics.flush();
      return v.verdict;
    } catch (e) {
      this.metrics.errors++;
      this.metrics.flush();
      this.log.error('shift handling failed; will retry', { ...log, err: describe(e) });
      return 'error';
    }
  }

  private async readResult(r: ShiftRef): Promise<IngestResult | undefined> {
    const b = await this.store.get(this.store.resultKey(r, RESULT_FILE));
    if (!b) return undefined;
    const res = JSON.parse(b.toString('utf8')) as IngestResult;
    if (res.format !== RESULT_FORMAT) throw new BodycamError('STATE', `${this.store.resultKey(r, RESULT_FILE)} is not a ${RESULT_FORMAT} record`);
    return res;
  }

  private async writeResult(r: ShiftRef, v: ShiftVerification, seconds: number): Promise<IngestResult> {
    const rep = v.report;
    // open: false — the same key held the open shift's report while it recorded (live.ts).
    await this.store.put(this.store.resultKey(r, REPORT_FILE), JSON.stringify({ open: false, verifiedThrough: v.verdict === 'verified' ? (rep?.end ?? null) : null, reasons: v.reasons, report: rep ?? null }, null, 2) + '\n', 'application/json');
    if (rep) await this.store.put(this.store.resultKey(r, TIMELINE_FILE), renderHtml(rep), 'text/html; charset=utf-8');
    const result: IngestResult = {
      format: RESULT_FORMAT, verdict: v.verdict, deviceId: r.deviceId, shiftId: r.shiftId, manifestSha256: v.manifestSha256,
      bytes: v.bytes, objects: v.objects, reasons: v.reasons,
      verifier: rep ? { verdict: rep.verdict, summary: rep.summary, keyId: rep.keyId } : null,
      worker: this.cfg.workerId, verifiedAt: new Date().toISOString(), verifySeconds: Number(seconds.toFixed(3)),
      versions: v.versions,
    };
    // Last: its presence is what "decided" means.
    await this.store.put(this.store.resultKey(r, RESULT_FILE), JSON.stringify(result, null, 2) + '\n', 'application/json');
    return result;
  }

  /** Publishes the signed confirm for a verified result unless a confirm record exists already. */
  private async confirm(r: ShiftRef, result: IngestResult): Promise<void> {
    if (result.verdict !== 'verified') return;
    if (await this.store.exists(this.store.resultKey(r, CONFIRM_FILE))) return;
    await this.publishConfirm(r, result, 0);
    this.log.info('shift confirmed', { worker: this.cfg.workerId, device: r.deviceId, shift: r.shiftId, manifestSha256: result.manifestSha256 });
  }

  /** Publishes a fresh signed confirm for a verified result, then records it (`confirm.json`, a new version each time). */
  private async publishConfirm(r: ShiftRef, result: IngestResult, resent: number): Promise<void> {
    const c = signedConfirm(this.commandKey, result, this.cfg.confirmTtlS);
    await this.publish(confirmTopic(this.cfg.mqtt.topicRoot, r.deviceId), Buffer.from(c.bytes));
    this.metrics.confirmsPublished++;
    await this.store.put(this.store.resultKey(r, CONFIRM_FILE), JSON.stringify({ commandId: c.id, manifestSha256: result.manifestSha256, worker: this.cfg.workerId, at: new Date().toISOString(), ...(resent ? { resent } : {}) }) + '\n', 'application/json');
  }

  /** One object of a decided shift, as verified: read by the pinned version, its hash checked again. */
  async readVerifiedObject(r: ShiftRef, file: string): Promise<Buffer> {
    return readVerifiedObject(this.store, r, file);
  }

  /** QoS 1 and resolved on the broker's PUBACK: "published" means the broker has it. */
  private publish(topic: string, payload: Buffer): Promise<void> {
    const c = this.client;
    if (!c) return Promise.reject(new BodycamError('PROTOCOL', 'not connected to the broker'));
    return new Promise((resolve, reject) => c.publish(topic, payload, { qos: 1 }, (e) => (e ? reject(new BodycamError('PROTOCOL', `publish ${topic}: ${describe(e)}`)) : resolve())));
  }
}

/**
 * Reads one file of a decided shift exactly as ingest verified it: the version `result.json`
 * pinned, its SHA-256 checked again. A version written after the verdict is never what this
 * returns; a file the verdict does not name is an error, not the latest upload.
 */
export async function readVerifiedObject(store: EvidenceStore, r: ShiftRef, file: string): Promise<Buffer> {
  const raw = await store.get(store.resultKey(r, RESULT_FILE));
  if (!raw) throw new BodycamError('STATE', `${store.resultKey(r, RESULT_FILE)}: the shift is not decided`);
  const res = JSON.parse(raw.toString('utf8')) as Partial<IngestResult>;
  const pin = res.versions?.[file];
  if (!pin) throw new BodycamError('STATE', `${file} is not among the objects ${store.resultKey(r, RESULT_FILE)} verified`);
  const got = await store.getVersion(store.shiftKey(r, file), pin.versionId);
  if (!got) throw new BodycamError('STATE', `${store.shiftKey(r, file)} version ${pin.versionId} is gone from the store`);
  const sha = sha256Hex(got.bytes);
  if (sha !== pin.sha256) throw new BodycamError('EVIDENCE', `${store.shiftKey(r, file)} version ${pin.versionId}: SHA-256 ${sha}, verified ${pin.sha256}`);
  return got.bytes;
}
