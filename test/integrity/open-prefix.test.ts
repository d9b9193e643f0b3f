/**
 * A shift still recording (docs/live-offload.md): its journal cut at a signature record is a
 * verifiable prefix. `bodycam verify` says "intact, covered from start through T, shift still
 * open" (exit 0), segments not arrived yet are awaited; the incremental verifier takes the
 * journal chunk by chunk from a JSON state and never hashes a segment twice. Real ffmpeg segments,
 * the real signer (test/helpers/shift-fixture.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createPublicKey } from 'node:crypto';
import { provisionIdentity, type DeviceIdentity } from '../../agent/identity/identity.js';
import { makeMedia, makeShift, type Media } from '../helpers/shift-fixture.js';
import { bodycam, JOURNAL } from './tamper.js';
import { signSubject } from '../../agent/evidence/crypto.js';
import { chunkName, newLiveState, parseLiveState, verifyChunk, fetchAwaited, type LiveState, type SegmentSource } from '../../agent/evidence/verify/incremental.js';

let root: string;
let media: Media;
let device: DeviceIdentity;
let other: DeviceIdentity;
let pristine: string;
let n = 0;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bodycam-open-'));
  device = provisionIdentity(join(root, 'device'), { deviceId: 'cam-test' });
  other = provisionIdentity(join(root, 'other'), { deviceId: 'cam-test' });
  media = makeMedia(4);
  // A signature after every segment: four checkpoints before the shift's end.
  pristine = (await makeShift({ root: join(root, 'pristine'), identity: device, media, signEvery: 1 })).dir;
});

after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(media.dir, { recursive: true, force: true });
});

const lines = (dir: string): string[] => readFileSync(join(dir, JOURNAL), 'utf8').split('\n').filter((l) => l !== '').map((l) => l + '\n');
const rec = (line: string): Record<string, unknown> => JSON.parse(line) as Record<string, unknown>;
/** 1-based numbers of the signature lines before shift_end: where the camera cuts chunks. */
const checkpoints = (ls: string[]): number[] => {
  const end = ls.findIndex((l) => rec(l).type === 'shift_end');
  return ls.map((l, i) => (rec(l).type === 'signature' && i < end ? i + 1 : 0)).filter((x) => x > 0);
};
const pub = () => createPublicKey(readFileSync(device.publicKeyPath));

/** A copy of the pristine shift whose journal is cut after line `through`, with the segments that prefix names (as the bucket holds them). */
function prefix(through: number): string {
  const d = join(root, `case-${++n}`, 'shift');
  cpSync(pristine, d, { recursive: true });
  const kept = lines(pristine).slice(0, through);
  writeFileSync(join(d, JOURNAL), kept.join(''));
  const named = new Set(kept.map(rec).filter((r) => r.type === 'segment').map((r) => String(r.file)));
  for (const f of readdirSync(d)) if (f.startsWith('seg-') && !named.has(f)) unlinkSync(join(d, f));
  return d;
}

const source = (dir: string, log: string[] = []): SegmentSource => async (file) => {
  try {
    const bytes = readFileSync(join(dir, file));
    log.push(file);
    return { bytes, versionId: 'local' };
  } catch {
    return undefined;
  }
};

void test('a journal cut at a signature with no shift_end verifies as open: exit 0, "intact, covered from start through T, shift still open", the segment not arrived yet is awaited, not missing', () => {
  const ls = lines(pristine);
  const cps = checkpoints(ls);
  assert.ok(cps.length >= 3, `checkpoints ${JSON.stringify(cps)}`);
  const cut = cps[2]!;
  const d = prefix(cut);
  const named = ls.slice(0, cut).map(rec).filter((r) => r.type === 'segment').map((r) => String(r.file));
  const last = named[named.length - 1]!;
  unlinkSync(join(d, last));
  const r = bodycam(['verify', d, '--pubkey', device.publicKeyPath, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const j = r.json as unknown as { verdict: string; summary: string; open: boolean; verifiedThrough: string; awaited: string[]; journal: { closed: boolean } };
  assert.equal(j.verdict, 'intact');
  assert.equal(j.open, true);
  assert.equal(j.journal.closed, false);
  assert.deepEqual(j.awaited, [last]);
  assert.match(j.summary, /^intact, covered from start through \d{4}-\d\d-\d\dT[\d:.]+Z, shift still open/);
  // T stops where the awaited segment begins: what has not arrived is not verified.
  const awaitedRec = ls.map(rec).find((x) => x.file === last)!;
  assert.ok(Date.parse(j.verifiedThrough) <= Date.parse(String(awaitedRec.start)) + 250, `${j.verifiedThrough} vs ${String(awaitedRec.start)}`);
  assert.ok(Date.parse(j.verifiedThrough) > Date.parse(String(rec(ls[0]!).at)));
  const text = bodycam(['verify', d, '--pubkey', device.publicKeyPath]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /shift still open/);
  assert.match(text.stdout, new RegExp(`awaited \\(not arrived yet\\): ${last}`));
  const html = bodycam(['verify', d, '--pubkey', device.publicKeyPath, '--html', join(d, '..', 'r.html')]);
  assert.equal(html.code, 0, html.stdout + html.stderr);
  const page = readFileSync(join(d, '..', 'r.html'), 'utf8');
  assert.match(page, /shift still open/);
  assert.match(page, /id="verified-through"/);
});

void test('the same cut with an unsigned record after the signature is still incomplete (no_shift_end): only a signed prefix is open', () => {
  const ls = lines(pristine);
  const d = prefix(checkpoints(ls)[1]! + 1);
  const r = bodycam(['verify', d, '--pubkey', device.publicKeyPath, '--json']);
  assert.equal(r.code, 1);
  assert.equal((r.json as unknown as { verdict: string }).verdict, 'incomplete');
  assert.ok(r.json!.findings.some((f) => f.kind === 'no_shift_end'));
});

/** The pristine journal as the camera's live chunks: cut at each checkpoint, then the rest. */
function chunks(ls: string[]): Array<{ name: string; bytes: Buffer }> {
  const cuts = [...checkpoints(ls), ls.length];
  let from = 1;
  return cuts.map((to) => {
    const c = { name: chunkName(from, to), bytes: Buffer.from(ls.slice(from - 1, to).join('')) };
    from = to + 1;
    return c;
  });
}

void test('incremental: chunk by chunk through a JSON round trip of the state, each segment hashed once, the same end state as one chunk; a pass with nothing new hashes nothing', async () => {
  const ls = lines(pristine);
  const cs = chunks(ls);
  let state: LiveState = newLiveState(pub());
  const hashedFiles: string[] = [];
  const through: number[] = [];
  for (const c of cs) {
    state = parseLiveState(JSON.stringify(state)); // what ingest persists between passes
    const out = await verifyChunk(state, c, pub(), source(pristine, hashedFiles));
    assert.equal(out.accepted, true, JSON.stringify(out.problems));
    through.push(state.verifiedThrough!);
  }
  assert.deepEqual(state.problems, []);
  assert.equal(state.closed, true);
  assert.equal(state.lines, ls.length);
  const segFiles = Object.keys(state.segments).sort();
  assert.deepEqual([...hashedFiles].sort(), segFiles, 'every segment hashed exactly once');
  const total = segFiles.reduce((a, f) => a + statSync(join(pristine, f)).size, 0);
  assert.equal(state.bytesHashed, total);
  for (let i = 1; i < through.length; i++) assert.ok(through[i]! >= through[i - 1]!, `verified-through never goes back: ${through.join(', ')}`);
  assert.ok(through[through.length - 1]! > through[0]!, 'verified-through advances');
  // Nothing new: no read, no byte hashed.
  const again: string[] = [];
  assert.equal(await fetchAwaited(state, source(pristine, again)), 0);
  assert.deepEqual(again, []);
  // One chunk of the whole journal ends in the same place.
  const one = newLiveState(pub());
  await verifyChunk(one, { name: chunkName(1, ls.length), bytes: Buffer.from(ls.join('')) }, pub(), source(pristine));
  for (const k of ['lines', 'head', 'verifiedThrough', 'signedAt', 'covered', 'segments', 'bytesHashed', 'closed'] as const) assert.deepEqual(state[k], one[k], k);
});

void test('incremental: a segment not uploaded yet is awaited and stops verified-through; when it arrives it is hashed and T advances', async () => {
  const ls = lines(pristine);
  const cs = chunks(ls);
  const d = prefix(ls.length);
  const state = newLiveState(pub());
  await verifyChunk(state, cs[0]!, pub(), source(d));
  const first = Object.keys(state.segments)[0]!;
  // Take the next segment away before its chunk is verified.
  const next = rec(cs[1]!.bytes.toString('utf8').split('\n').find((l) => l.includes('"type":"segment"'))!).file as string;
  const saved = readFileSync(join(d, next));
  unlinkSync(join(d, next));
  const t0 = state.verifiedThrough!;
  await verifyChunk(state, cs[1]!, pub(), source(d));
  assert.equal(state.segments[next]!.state, 'awaited');
  assert.equal(state.segments[first]!.state, 'verified');
  assert.ok(state.verifiedThrough! <= state.segments[next]!.start + 250 && state.verifiedThrough! >= t0);
  writeFileSync(join(d, next), saved);
  const hashed = await fetchAwaited(state, source(d));
  assert.equal(hashed, saved.length);
  assert.equal(state.segments[next]!.state, 'verified');
  assert.ok(state.verifiedThrough! >= state.segments[next]!.end - 250);
});

void test('incremental: an edited line, a missing chunk and a chunk signed with a foreign key are each named, and the state stays where it was', async () => {
  const ls = lines(pristine);
  const cs = chunks(ls);
  const fresh = async (): Promise<LiveState> => {
    const s = newLiveState(pub());
    await verifyChunk(s, cs[0]!, pub(), source(pristine));
    return s;
  };
  // Edited line: the chunk's first record altered (its `at`), so the signature no longer verifies.
  let s = await fresh();
  const before = JSON.stringify(s);
  const edited = cs[1]!.bytes.toString('utf8').replace(/"at":"(\d{4}-[^"]+)"/, (_m, at: string) => `"at":"${new Date(Date.parse(at) + 1000).toISOString()}"`);
  let out = await verifyChunk(s, { name: cs[1]!.name, bytes: Buffer.from(edited) }, pub(), source(pristine));
  assert.equal(out.accepted, false);
  assert.ok(['chain_broken', 'signature_invalid'].includes(out.problems[0]!.kind), JSON.stringify(out.problems));
  assert.equal(s.halted, true);
  assert.equal(s.lines, (JSON.parse(before) as LiveState).lines, 'nothing of the refused chunk taken');
  // Missing chunk: chunk 3 offered after chunk 1.
  s = await fresh();
  out = await verifyChunk(s, cs[2]!, pub(), source(pristine));
  assert.deepEqual(out.problems.map((p) => p.kind), ['chunk_gap']);
  assert.match(out.problems[0]!.message, /are in no chunk/);
  // Foreign key: chunk 2's closing signature re-made with another device's key.
  s = await fresh();
  const cl = cs[1]!.bytes.toString('utf8').split('\n').filter((l) => l !== '');
  const sig = rec(cl[cl.length - 1]!);
  sig.key_id = other.keyId;
  sig.sig = signSubject(other.privateKey, { deviceId: String(sig.device_id), shiftId: String(sig.shift_id), coversSeq: Number(sig.covers_seq), head: String(sig.head) });
  cl[cl.length - 1] = JSON.stringify(sig);
  out = await verifyChunk(s, { name: cs[1]!.name, bytes: Buffer.from(cl.map((l) => l + '\n').join('')) }, pub(), source(pristine));
  assert.deepEqual(out.problems.map((p) => p.kind), ['signature_other_key']);
  assert.match(out.problems[0]!.message, new RegExp(other.keyId));
});
