/**
 * The event outbox: journal records that matter to central become `Event`s in an fsynced on-disk
 * queue under `<data-dir>/outbox/`, are published from there in order, and leave it only when the
 * broker acknowledged them (PUBACK). Nothing is held only in memory across a crash:
 *
 * - `q-NNNNNNNNN.log`: append-only files of frames `[u32 length][u32 crc32][Event bytes]` (big
 *   endian). A torn last frame (power cut mid-write) fails its length or CRC and is cut off.
 * - `state.json` (atomic): `ackedThrough` (every seq ≤ it was acknowledged), the next seq, the
 *   per-journal cursors (last journal seq queued per shift / device journal) and a pending
 *   overflow. Acks are persisted lazily (every `ackPersistMs`): after a crash the last few events
 *   may be sent once more — same seq, so central drops the duplicate.
 *
 * The bus listener only pushes onto an in-memory list (journal appends are synchronous in the
 * recording core and must not wait for our disk); a writer turns the list into one write + one
 * fdatasync per batch. The gap between a journal append and the outbox write is closed at start:
 * `reconcile` (outbox-reconcile.ts) re-reads the journals after each cursor, so a record journaled just before a crash
 * (or by the core before this extension subscribed) still becomes an event.
 *
 * Bounded: when queued bytes would exceed `maxBytes`, records are dropped and counted; as soon as
 * there is room again an OUTBOX_OVERFLOW event says how many and when (dropped records take no
 * seq, so central sees no hole; they remain in the journals that the offload delivers).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, ftruncateSync, fsyncSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { readJsonIfExists, writeJsonAtomic, fsyncDir } from '../lib/atomic.js';
import { createLogger } from '../lib/log.js';
import { describe } from '../lib/errors.js';
import { Backoff } from '../lib/backoff.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import { sha256Hex, type JournalRecord } from '../evidence/journal.js';
import { pb, type EventProps } from './proto.js';
import { eventKindOf } from './event-kinds.js';

const log = createLogger('telemetry.outbox');

const HEADER = 8;
/** Room kept free for the overflow event itself. */
const RESERVE = 2048;
const FILE_RE = /^q-(\d{9})\.log$/;
const fileName = (n: number): string => `q-${String(n).padStart(9, '0')}.log`;


/** Source key of a journal: the shift id, or '' for the device (off-duty) journal. */
export type Source = string;

interface PendingRecord {
  readonly source: Source;
  readonly journalSeq: number;
  readonly type: string;
  readonly at: string;
  readonly line: string;
  readonly hash: string;
}

/** One queued, not yet acknowledged event. */
export interface QueuedEvent {
  readonly seq: number;
  readonly payload: Uint8Array;
}

interface Entry extends QueuedEvent {
  readonly file: number;
  readonly size: number;
}

interface OverflowState {
  dropped: number;
  firstAt: string;
  lastAt: string;
}

interface PersistedState {
  version: 1;
  ackedThrough: number;
  nextSeq: number;
  cursors: Record<Source, number>;
  overflow: OverflowState | null;
}

export interface OutboxOptions {
  readonly dir: string;
  readonly deviceId: string;
  readonly bootId: string;
  readonly maxBytes: number;
  /** A queue file is closed for appends at this size (default 256 KiB). */
  readonly fileBytes?: number;
  /** How often acknowledged positions are persisted (default 250 ms). */
  readonly ackPersistMs?: number;
  readonly now?: () => number;
}

export interface OutboxEvents extends Record<string, unknown[]> {
  /** New events are durable and can be sent. */
  ready: [];
}

export class Outbox extends TypedEmitter<OutboxEvents> {
  private readonly fileBytes: number;
  private readonly now: () => number;
  private pending: PendingRecord[] = [];
  /** Unacknowledged events; entries[i].seq === firstSeq + i. */
  private entries: Entry[] = [];
  private head = 0;
  private ackedThrough = 0;
  private nextSeqNo = 1;
  private readonly ackedAhead = new Set<number>();
  private readonly cursors = new Map<Source, number>();
  private overflow: OverflowState | null = null;
  private usedBytes = 0;
  /** File number → last seq written to it. */
  private readonly files = new Map<number, { lastSeq: number; size: number }>();
  private writeFile = 0;
  private fh: FileHandle | undefined;
  private flushing: Promise<void> | undefined;
  private persistTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly writeBackoff = new Backoff({ initialMs: 200, maxMs: 30_000 });
  private stateDirty = false;
  private closed = false;
  /** True when no outbox existed before this open (first start with telemetry). */
  fresh = false;

  constructor(private readonly o: OutboxOptions) {
    super();
    this.fileBytes = o.fileBytes ?? 256 * 1024;
    this.now = o.now ?? Date.now;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Loads state and queue files; cuts torn tails. Synchronous: runs once at start. */
  open(): void {
    mkdirSync(this.o.dir, { recursive: true, mode: 0o750 });
    const statePath = join(this.o.dir, 'state.json');
    let st: Partial<PersistedState> | undefined;
    try {
      st = readJsonIfExists(statePath) as Partial<PersistedState> | undefined;
    } catch (e) {
      // The queue files alone still carry every unacknowledged event; only ack positions are lost
      // (events get re-sent, detectable by seq).
      log.error('outbox state unreadable; rebuilding from queue files', { error: e });
    }
    const names = readdirSync(this.o.dir).filter((f) => FILE_RE.test(f)).sort();
    this.fresh = st === undefined && names.length === 0;
    this.ackedThrough = typeof st?.ackedThrough === 'number' ? st.ackedThrough : 0;
    this.nextSeqNo = typeof st?.nextSeq === 'number' ? st.nextSeq : 1;
    for (const [k, v] of Object.entries(st?.cursors ?? {})) if (typeof v === 'number') this.cursors.set(k, v);
    const ov = st?.overflow;
    if (ov && typeof ov.dropped === 'number' && ov.dropped > 0) this.overflow = { dropped: ov.dropped, firstAt: String(ov.firstAt), lastAt: String(ov.lastAt) };

    names.forEach((name, idx) => {
      const n = Number(FILE_RE.exec(name)![1]);
      const path = join(this.o.dir, name);
      const buf = readFileSync(path);
      let off = 0;
      let lastSeq = 0;
      while (off + HEADER <= buf.length) {
        const len = buf.readUInt32BE(off);
        const crc = buf.readUInt32BE(off + 4);
        if (off + HEADER + len > buf.length) break;
        const payload = buf.subarray(off + HEADER, off + HEADER + len);
        if (crc32(payload) !== crc) break;
        let ev;
        try {
          ev = pb.Event.decode(payload);
        } catch {
          break;
        }
        const size = HEADER + len;
        off += size;
        lastSeq = ev.seq;
        if (ev.seq >= this.nextSeqNo) this.nextSeqNo = ev.seq + 1;
        if (ev.kind !== pb.EventKind.EVENT_KIND_OUTBOX_OVERFLOW) {
          const cur = this.cursors.get(ev.shiftId) ?? -1;
          if (ev.journalSeq > cur) this.cursors.set(ev.shiftId, ev.journalSeq);
        } else if (this.overflow && ev.seq > this.ackedThrough) {
          // Written, but the crash came before state.json forgot the overflow: do not report twice.
          this.overflow = null;
        }
        if (ev.seq > this.ackedThrough) {
          const copy = Uint8Array.prototype.slice.call(payload);
          this.entries.push({ seq: ev.seq, payload: copy, file: n, size });
          this.usedBytes += size;
        }
      }
      if (off < buf.length) {
        const last = idx === names.length - 1;
        log.warn(last ? 'cutting a torn tail off the outbox' : 'corrupt frame inside an outbox file; dropping the rest of it', { file: name, at: off, bytes: buf.length - off });
        const fd = openSync(path, 'r+');
        ftruncateSync(fd, off);
        fsyncSync(fd);
        closeSync(fd);
      }
      this.files.set(n, { lastSeq, size: off });
      this.writeFile = Math.max(this.writeFile, n);
    });
    // Entries must be contiguous by seq for index lookups; a corrupt middle file could break that.
    this.entries.sort((a, b) => a.seq - b.seq);
    const contiguous = this.entries.every((e, i) => i === 0 || e.seq === this.entries[i - 1]!.seq + 1);
    if (!contiguous) log.error('outbox entries are not contiguous (a queue file was damaged); seq holes will show at central');
    this.writeFile += 1;
    this.dropAckedFiles();
    if (this.fresh) this.persistState();
    log.info('outbox open', { depth: this.depth, nextSeq: this.nextSeqNo, ackedThrough: this.ackedThrough, bytes: this.usedBytes });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.flush().catch(() => undefined);
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    if (this.stateDirty) this.persistState();
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
  }

  // ---- producer side -----------------------------------------------------------------------

  /** Queues a journal record (cheap, synchronous; the disk write happens in the writer). */
  add(source: Source, rec: JournalRecord, line: string, hash?: string): void {
    if (this.closed) return;
    this.pending.push({ source, journalSeq: rec.seq, type: rec.type, at: rec.at, line, hash: hash ?? sha256Hex(line) });
    if (!this.flushing && !this.retryTimer) setImmediate(() => void this.flush());
  }

  /** Last journal seq of `source` that is durably queued (or dropped in an overflow); -1 when none. */
  cursor(source: Source): number {
    return this.cursors.get(source) ?? -1;
  }

  sources(): Source[] {
    return [...this.cursors.keys()];
  }

  /** Forgets the cursor of a journal that no longer exists (shift offloaded and deleted). */
  forget(source: Source): void {
    if (this.cursors.delete(source)) this.markDirty();
  }

  /** Writes every pending record durably. Serialized: concurrent callers share one run. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.pending.length || this.overflowReady() ? this.flush() : undefined));
    this.flushing = this.doFlush().finally(() => {
      this.flushing = undefined;
      // A record added after the writer's last look but before this callback would otherwise
      // wait for the next add().
      if ((this.pending.length || this.overflowReady()) && !this.retryTimer && !this.closed) setImmediate(() => void this.flush());
    });
    return this.flushing;
  }

  private overflowReady(): boolean {
    return this.overflow !== null && this.usedBytes + 512 <= this.o.maxBytes;
  }

  private async doFlush(): Promise<void> {
    while (this.pending.length || this.overflowReady()) {
      const batch = this.pending;
      this.pending = [];
      const frames: Buffer[] = [];
      const added: Entry[] = [];
      const cursorUpdates = new Map<Source, number>();
      // Worked on a copy and committed only once the batch is on disk: a failed write is retried
      // with the same records and must not count drops twice.
      let ov: OverflowState | null = this.overflow ? { ...this.overflow } : null;
      const ovBefore = JSON.stringify(ov);
      let seq = this.nextSeqNo;
      let used = this.usedBytes;
      const file = this.writeFile;
      const pushFrame = (ev: EventProps): void => {
        const payload = pb.Event.encode(ev).finish();
        const frame = Buffer.allocUnsafe(HEADER + payload.length);
        frame.writeUInt32BE(payload.length, 0);
        frame.writeUInt32BE(crc32(payload), 4);
        frame.set(payload, HEADER);
        frames.push(frame);
        added.push({ seq, payload: frame.subarray(HEADER), file, size: frame.length });
        used += frame.length;
        seq++;
      };
      const tryOverflow = (): void => {
        if (!ov) return;
        const ev: EventProps = {
          seq, deviceId: this.o.deviceId, kind: pb.EventKind.EVENT_KIND_OUTBOX_OVERFLOW, type: 'outbox_overflow',
          at: new Date(this.now()).toISOString(), bootId: this.o.bootId,
          overflow: { dropped: ov.dropped, firstAt: ov.firstAt, lastAt: ov.lastAt, limitBytes: this.o.maxBytes },
        };
        if (used + HEADER + pb.Event.encode(ev).finish().length > this.o.maxBytes) return;
        pushFrame(ev);
        log.info('overflow event queued', { dropped: ov.dropped });
        ov = null;
      };
      tryOverflow();
      for (const r of batch) {
        const cur = Math.max(this.cursor(r.source), cursorUpdates.get(r.source) ?? -1);
        if (r.journalSeq <= cur) continue; // already queued (reconcile and live listener overlap)
        cursorUpdates.set(r.source, r.journalSeq);
        // The overflow report goes first, and takes a seq: only then is this event's seq known
        // (built before it, the event carried the overflow's seq and its own went missing).
        tryOverflow();
        const ev: EventProps = {
          seq, deviceId: this.o.deviceId, kind: eventKindOf(r.type), type: r.type, at: r.at, shiftId: r.source,
          journalSeq: r.journalSeq, journalLine: r.line, journalHash: r.hash, bootId: this.o.bootId,
        };
        const size = HEADER + pb.Event.encode(ev).finish().length;
        // While an overflow is unreported, newer events wait behind it (dropped too): central
        // must learn of the hole before it sees what came after.
        if (ov || used + size > this.o.maxBytes - RESERVE) {
          if (!ov) {
            ov = { dropped: 0, firstAt: r.at, lastAt: r.at };
            log.warn('outbox full: dropping events until central catches up', { maxBytes: this.o.maxBytes });
          }
          ov.dropped++;
          ov.lastAt = r.at;
          continue;
        }
        pushFrame(ev);
      }
      if (frames.length) {
        try {
          await this.appendDurably(Buffer.concat(frames));
        } catch (e) {
          // Disk full or I/O error: keep the batch in memory and retry later; recording goes on
          // (the journal still holds every record, and reconcile re-reads it after a restart).
          const d = this.writeBackoff.next();
          log.error('outbox write failed; will retry', { error: describe(e), retryMs: d });
          this.pending = batch.concat(this.pending);
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            void this.flush();
          }, d);
          return;
        }
        this.writeBackoff.reset();
        for (const a of added) {
          this.entries.push(a);
          this.usedBytes += a.size;
        }
        const f = this.files.get(file) ?? { lastSeq: 0, size: 0 };
        f.lastSeq = seq - 1;
        f.size += frames.reduce((s, b) => s + b.length, 0);
        this.files.set(file, f);
        this.nextSeqNo = seq;
      }
      for (const [s, v] of cursorUpdates) this.cursors.set(s, v);
      this.overflow = ov;
      if (JSON.stringify(ov) !== ovBefore) this.persistState();
      else if (cursorUpdates.size) this.markDirty();
      if (frames.length) this.emit('ready');
    }
  }

  private async appendDurably(data: Buffer): Promise<void> {
    const f = this.files.get(this.writeFile);
    if (this.fh && f && f.size >= this.fileBytes) {
      await this.fh.close();
      this.fh = undefined;
      this.writeFile++;
    }
    if (!this.fh) {
      const path = join(this.o.dir, fileName(this.writeFile));
      const isNew = !existsSync(path);
      this.fh = await open(path, 'a', 0o640);
      if (isNew) fsyncDir(this.o.dir);
    }
    let off = 0;
    while (off < data.length) off += (await this.fh.write(data, off, data.length - off)).bytesWritten;
    await this.fh.datasync();
  }

  // ---- consumer side -----------------------------------------------------------------------

  /** Unacknowledged events with seq ≥ `fromSeq`, at most `max`, in seq order. */
  peek(fromSeq: number, max: number): QueuedEvent[] {
    if (this.head >= this.entries.length) return [];
    const first = this.entries[this.head]!.seq;
    const start = this.head + Math.max(0, fromSeq - first);
    return this.entries.slice(start, start + max);
  }

  /** Seq of the oldest unacknowledged event, or the next seq to be assigned when none. */
  get firstUnacked(): number {
    return this.head < this.entries.length ? this.entries[this.head]!.seq : this.nextSeqNo;
  }

  /** Marks one event acknowledged by the broker. */
  ack(seq: number): void {
    if (seq <= this.ackedThrough) return;
    this.ackedAhead.add(seq);
    let advanced = false;
    while (this.head < this.entries.length && this.ackedAhead.has(this.entries[this.head]!.seq)) {
      const e = this.entries[this.head]!;
      this.ackedAhead.delete(e.seq);
      this.ackedThrough = e.seq;
      this.usedBytes -= e.size;
      this.head++;
      advanced = true;
    }
    if (!advanced) return;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.markDirty();
    this.dropAckedFiles();
    if (this.overflowReady() && !this.flushing) setImmediate(() => void this.flush());
  }

  private markDirty(): void {
    this.stateDirty = true;
    if (this.persistTimer || this.closed) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      if (this.stateDirty) this.persistState();
    }, this.o.ackPersistMs ?? 250);
  }

  /** Deletes queue files whose every event is acknowledged (state first, so cursors survive). */
  private dropAckedFiles(): void {
    const done = [...this.files].filter(([n, f]) => f.lastSeq <= this.ackedThrough && (n !== this.writeFile || (f.size >= this.fileBytes / 4 && !this.flushing)));
    if (!done.length) return;
    this.persistState();
    for (const [n] of done) {
      if (n === this.writeFile && this.fh) {
        const fh = this.fh;
        this.fh = undefined;
        this.writeFile++;
        void fh.close().catch(() => undefined);
      }
      try {
        unlinkSync(join(this.o.dir, fileName(n)));
      } catch (e) {
        log.warn('cannot delete acknowledged outbox file', { file: fileName(n), error: describe(e) });
      }
      this.files.delete(n);
    }
    fsyncDir(this.o.dir);
  }

  private persistState(): void {
    this.stateDirty = false;
    const st: PersistedState = {
      version: 1,
      ackedThrough: this.ackedThrough,
      nextSeq: this.nextSeqNo,
      cursors: Object.fromEntries(this.cursors),
      overflow: this.overflow,
    };
    try {
      writeJsonAtomic(join(this.o.dir, 'state.json'), st);
    } catch (e) {
      log.error('cannot persist outbox state', { error: describe(e) });
      this.stateDirty = true;
    }
  }

  // ---- numbers for status and heartbeats ---------------------------------------------------

  /** Durable events not yet acknowledged. */
  get depth(): number {
    return this.entries.length - this.head;
  }
  /** Records waiting for the writer (not durable yet). */
  get pendingCount(): number {
    return this.pending.length;
  }
  get bytes(): number {
    return this.usedBytes;
  }
  /** Seq of the last event queued (0 when none ever). */
  get lastSeq(): number {
    return this.nextSeqNo - 1;
  }
  get droppedPending(): number {
    return this.overflow?.dropped ?? 0;
  }
}
