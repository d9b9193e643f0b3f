/**
 * Shifts in the console: ingest's verdicts, reports, timelines and tracks, read from the evidence
 * store with the operator's S3 credentials (config `s3`) and served *through* the console. The
 * browser never gets a store URL, presigned or public: every byte passes this process, after the
 * session and role checks, and each view is appended to the audit log (`shift_viewed`: who,
 * device, shift, what).
 *
 * What ingest writes under `<resultPrefix>/<deviceId>/<shiftId>/` (central/ingest/service.ts, live.ts):
 *   result.json    the commit record of an ended shift (verdict verified | refused)
 *   report.json    `{open, verifiedThrough, reasons, report}`: the verifier's report (with its track)
 *                  once the shift ended; `{open: true, verdict, summary, live}` while it records
 *   timeline.html  the verifier's HTML report of an ended shift (inline CSS and SVG, no script)
 * A decided result never changes (ingest never replaces one): it is cached here; open shifts are
 * read again each time.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createS3Client, httpStatus, s3ErrorName } from '../../agent/offload/s3.js';
import { SHIFT_ID } from '../../agent/evidence/shift-id.js';
import { describe } from '../../agent/lib/errors.js';
import { createLogger } from '../../agent/lib/log.js';
import type { TrackPoint } from '../../agent/evidence/verify/report.js';
import type { IngestS3Config } from '../ingest/config.js';
import type { AuditLog } from './audit.js';
import type { Role } from './users.js';

const log = createLogger('console.shifts');
/** Device ids as the console's config and the cameras' topics name them. */
export const DEVICE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** Shifts listed per camera (newest first) and on the fleet's shifts page. */
const PER_CAMERA = 30;
const OVERALL = 100;
/** Decided shifts' summaries kept in memory (a few hundred bytes each). */
const DECIDED_KEPT = 20_000;
/**
 * The verifier's HTML report carries its own inline CSS and SVG and no script: it is shown with a
 * CSP of its own (no script at all, nothing fetched) in a sandbox, never under the console's origin powers.
 */
const TIMELINE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export interface ShiftSummary {
  readonly deviceId: string;
  readonly shiftId: string;
  /** Ended: ingest's verdict (`verified` | `refused`). Open: the live verification's (`pending` | `intact` | `tampered`); `waiting` when nothing is decided yet. */
  readonly verdict: string;
  readonly open: boolean;
  readonly summary: string;
  readonly reasons: number;
  readonly verifiedAt: string | null;
  readonly verifiedThrough: string | null;
}

type Obj = Record<string, unknown>;
const isMissing = (e: unknown): boolean => httpStatus(e) === 404 || s3ErrorName(e) === 'NoSuchKey' || s3ErrorName(e) === 'NotFound';

/** The evidence store as the console reads it: listings and ingest's result files, nothing else. */
export class ShiftStore {
  private readonly s3: S3Client;
  private readonly decided = new Map<string, ShiftSummary>();

  constructor(private readonly cfg: IngestS3Config) {
    this.s3 = createS3Client({
      endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: cfg.forcePathStyle, requestTimeoutMs: cfg.requestTimeoutMs,
      credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
    });
  }

  private key(dev: string, shift: string, file: string): string {
    return `${this.cfg.resultPrefix}/${dev}/${shift}/${file}`;
  }

  /** An object's bytes, or undefined when there is none. */
  async file(dev: string, shift: string, file: 'result.json' | 'report.json' | 'timeline.html'): Promise<Buffer | undefined> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.key(dev, shift, file) }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  private async json(dev: string, shift: string, file: 'result.json' | 'report.json'): Promise<Obj | undefined> {
    const b = await this.file(dev, shift, file);
    return b ? (JSON.parse(b.toString('utf8')) as Obj) : undefined;
  }

  /** Names one level below `prefix` (S3 common prefixes), in key order. */
  private async children(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.s3.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
      for (const p of r.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix.slice(prefix.length).replace(/\/$/, ''));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async summary(dev: string, shift: string): Promise<ShiftSummary | undefined> {
    const k = `${dev}/${shift}`;
    const known = this.decided.get(k);
    if (known) return known;
    const result = await this.json(dev, shift, 'result.json');
    if (result) {
      const v = result.verifier as Obj | null;
      const s: ShiftSummary = {
        deviceId: dev, shiftId: shift, verdict: String(result.verdict), open: false, summary: v ? String(v.summary ?? '') : 'the verifier could not run',
        reasons: Array.isArray(result.reasons) ? result.reasons.length : 0, verifiedAt: typeof result.verifiedAt === 'string' ? result.verifiedAt : null,
        verifiedThrough: null,
      };
      const rep = await this.json(dev, shift, 'report.json');
      const out = { ...s, verifiedThrough: typeof rep?.verifiedThrough === 'string' ? rep.verifiedThrough : null };
      this.decided.set(k, out);
      // Bounded: the oldest cached verdicts go first (Map keeps insertion order); they are read again if listed.
      if (this.decided.size > DECIDED_KEPT) this.decided.delete(this.decided.keys().next().value!);
      return out;
    }
    const rep = await this.json(dev, shift, 'report.json');
    if (!rep) return { deviceId: dev, shiftId: shift, verdict: 'waiting', open: true, summary: 'nothing verified yet', reasons: 0, verifiedAt: null, verifiedThrough: null };
    return {
      deviceId: dev, shiftId: shift, verdict: String(rep.verdict ?? (rep.open ? 'open' : '?')), open: rep.open !== false, summary: String(rep.summary ?? ''),
      reasons: Array.isArray(rep.reasons) ? rep.reasons.length : 0, verifiedAt: null, verifiedThrough: typeof rep.verifiedThrough === 'string' ? rep.verifiedThrough : null,
    };
  }

  /** One camera's shifts, newest first (shift ids begin with their UTC start). */
  async ofDevice(dev: string, limit = PER_CAMERA): Promise<ShiftSummary[]> {
    const ids = (await this.children(`${this.cfg.resultPrefix}/${dev}/`)).filter((s) => SHIFT_ID.test(s)).sort().reverse().slice(0, limit);
    const out = await Promise.all(ids.map((s) => this.summary(dev, s)));
    return out.filter((s): s is ShiftSummary => s !== undefined);
  }

  /** The newest shifts of every camera the store has results for (or of `devices`), newest first. */
  async overall(devices: readonly string[] | undefined, limit = OVERALL): Promise<ShiftSummary[]> {
    const devs = devices ?? (await this.children(`${this.cfg.resultPrefix}/`)).filter((d) => DEVICE_ID.test(d));
    const per = await Promise.all(devs.map((d) => this.ofDevice(d, 10)));
    return per.flat().sort((a, b) => b.shiftId.slice(0, 16).localeCompare(a.shiftId.slice(0, 16)) || a.deviceId.localeCompare(b.deviceId)).slice(0, limit);
  }

  /** The report.json of a shift, parsed; undefined when ingest has written none. */
  async report(dev: string, shift: string): Promise<Obj | undefined> {
    return this.json(dev, shift, 'report.json');
  }

  destroy(): void {
    this.s3.destroy();
  }
}

/** The positions of a shift's verifier report (report.json's `report.track`), [] for none. */
export function trackOf(report: Obj | undefined): TrackPoint[] {
  const r = report?.report as Obj | null | undefined;
  return Array.isArray(r?.track) ? (r.track as TrackPoint[]) : [];
}

interface Deps {
  readonly store: ShiftStore | undefined;
  readonly audit: AuditLog;
  /** Team members (config), to filter the shifts page by team. */
  readonly members: (group: string) => readonly string[];
}

/** Pages, scripts and API of the shifts (registered by server.ts). */
export function registerShiftRoutes(app: FastifyInstance, d: Deps): void {
  const VIEWER = { config: { role: 'viewer' as Role } };
  const page = (file: string) => (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/html; charset=utf-8').sendFile(file);
  app.get('/shifts', VIEWER, page('shifts.html'));
  app.get('/shift/:dev/:shift', VIEWER, page('shift.html'));
  for (const f of ['shifts.js', 'shift.js', 'shift-views.js']) app.get(`/static/${f}`, VIEWER, (_req, reply) => reply.type('text/javascript; charset=utf-8').sendFile(f));

  const need = (reply: FastifyReply): ShiftStore | undefined => {
    if (!d.store) void reply.code(503).send({ error: 'no evidence store configured (console config `s3`)' });
    return d.store;
  };
  const ref = (p: { dev: string; shift: string }, reply: FastifyReply): boolean => {
    if (DEVICE_ID.test(p.dev) && SHIFT_ID.test(p.shift)) return true;
    void reply.code(400).send({ error: 'not a device id and shift id' });
    return false;
  };
  const failed = (reply: FastifyReply, e: unknown) => {
    log.error('evidence store read failed', { error: describe(e) });
    return reply.code(502).send({ error: `evidence store: ${describe(e)}` });
  };
  const viewed = (req: FastifyRequest, dev: string, shift: string, what: string): void => {
    d.audit.append('shift_viewed', { user: req.session.user, role: req.session.role, device: dev, shift, what });
  };

  app.get<{ Querystring: { device?: string; group?: string } }>('/api/shifts', VIEWER, async (req, reply) => {
    const store = need(reply);
    if (!store) return reply;
    const { device, group } = req.query;
    if (device !== undefined && !DEVICE_ID.test(device)) return reply.code(400).send({ error: 'not a device id' });
    try {
      if (device) return { shifts: await store.ofDevice(device) };
      return { shifts: await store.overall(group ? d.members(group) : undefined) };
    } catch (e) {
      return failed(reply, e);
    }
  });

  type ShiftReq = FastifyRequest<{ Params: { dev: string; shift: string } }>;
  /** A shift's report.json (404 when ingest wrote none); the view is audited as `what` before the answer. */
  const withReport = (what: string, answer: (store: ShiftStore, dev: string, shift: string, report: Obj) => Promise<unknown>) => async (req: ShiftReq, reply: FastifyReply) => {
    const store = need(reply);
    if (!store || !ref(req.params, reply)) return reply;
    const { dev, shift } = req.params;
    try {
      const report = await store.report(dev, shift);
      if (!report) return reply.code(404).send({ error: `ingest has no report of ${dev}/${shift}` });
      const out = await answer(store, dev, shift, report);
      viewed(req, dev, shift, what);
      return out;
    } catch (e) {
      return failed(reply, e);
    }
  };
  // One shift: its verdict and report (report.json as ingest wrote it).
  app.get('/api/shifts/:dev/:shift', VIEWER, withReport('report', async (store, dev, shift, report) => ({ summary: await store.summary(dev, shift), report })));
  // The track alone (the camera page draws it): positions are the shift's evidence too.
  app.get('/api/shifts/:dev/:shift/track', VIEWER, withReport('track', async (_store, _dev, _shift, report) => ({ track: trackOf(report) })));

  // The verifier's HTML timeline, bytes from the store, under its own CSP (no script, sandboxed).
  app.get<{ Params: { dev: string; shift: string } }>('/shift/:dev/:shift/timeline', {
    ...VIEWER,
    // After the console's own onSend hook (route hooks run after the app's): the report's inline CSS only.
    onSend: async (_req, reply, payload) => {
      if (reply.statusCode === 200) void reply.header('content-security-policy', TIMELINE_CSP);
      return payload;
    },
  }, async (req, reply) => {
    const store = need(reply);
    if (!store || !ref(req.params, reply)) return reply;
    const { dev, shift } = req.params;
    try {
      const html = await store.file(dev, shift, 'timeline.html');
      if (!html) return reply.code(404).type('text/plain; charset=utf-8').send(`ingest has no timeline of ${dev}/${shift} (an open shift has none yet)`);
      viewed(req, dev, shift, 'timeline');
      return reply.type('text/html; charset=utf-8').send(html);
    } catch (e) {
      return failed(reply, e);
    }
  });
}
