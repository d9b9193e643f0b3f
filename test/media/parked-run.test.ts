/**
 * A recording run parked ahead (hal/encoder/parking.ts): a real ffmpeg waiting on its progress
 * FIFO while the agent is idle or paused, released by the start or resume gesture.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, shiftJournal, cleanup, runCli, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { chainProblem } from '../helpers/media.js';
import { EncoderParking, type ArgvFor } from '../../hal/encoder/parking.js';
import { DIES_WITH_AGENT } from '../../hal/encoder/process.js';
import { createLogger } from '../../agent/lib/log.js';

const agents: AgentProc[] = [];
const dirs: string[] = [];
after(async () => {
  for (const a of agents) await a.stop();
  for (const d of dirs) cleanup(d);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = (s: { ext: Record<string, Record<string, unknown> | undefined> }) => s.ext.encoder as { pid: number | null; parkedPid: number | null };

/** What a parked ffmpeg waits in, and the files it holds open. */
function parkedState(pid: number): { wchan: string; open: string[] } {
  const wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8');
  const open = readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return [];
    }
  });
  return { wchan, open };
}

test('a run parked ahead waits on its FIFO holding nothing of the shift, then records the start and the resume into the shift dir: same pids, contiguous segments, verify exit 0', { timeout: 150_000, skip: DIES_WITH_AGENT ? false : 'no setpriv: runs are never parked' }, async () => {
  const dataDir = tempDataDir('bodycam-parked-');
  dirs.push(dataDir);
  const prov = await runCli(['provision', '--data-dir', dataDir]);
  assert.equal(prov.code, 0, prov.stderr);
  const a = await startAgent({ dataDir });
  agents.push(a);
  const idle = await a.waitFor((s) => enc(s).parkedPid !== null, 20_000, 'a run parked while off duty');
  const first = enc(idle).parkedPid!;
  await sleep(500); // past its library loading: it waits in the open of its progress FIFO
  const waiting = parkedState(first);
  assert.equal(waiting.wchan, 'wait_for_partner', 'blocked opening its progress FIFO');
  assert.deepEqual(waiting.open.filter((f) => f.startsWith(a.dataDir) || f.startsWith('/dev/video') || f.startsWith('/dev/snd')), [], 'no shift file, camera or microphone open');

  await a.press('shift', { holdS: 2.1 });
  const rec = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 2, 40_000, 'recording');
  assert.equal(enc(rec).pid, first, 'the parked run records the shift');
  await a.press('privacy');
  await a.waitFor((s) => s.state === 'PAUSED' && enc(s).pid === null, 10_000, 'paused');
  const paused = await a.waitFor((s) => enc(s).parkedPid !== null && enc(s).parkedPid !== first, 10_000, 'a run parked for the resume');
  const second = enc(paused).parkedPid!;
  await sleep(500);
  assert.equal(parkedState(second).wchan, 'wait_for_partner');
  await a.press('privacy');
  const resumed = await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= rec.segments + 2, 40_000, 'recording after the resume');
  assert.equal(enc(resumed).pid, second, 'the run parked during the pause records the resume');
  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 20_000, 'shift end');

  const started = a.logs().split('\n').filter((l) => l.includes('"encoder run started"')).map((l) => JSON.parse(l) as { pid: number; parked: boolean; reason: string });
  assert.deepEqual(started.map((l) => [l.reason, l.pid, l.parked]), [['start', first, true], ['resume', second, true]]);
  const dir = join(a.dataDir, 'shifts', rec.shiftId!);
  assert.equal(chainProblem(join(dir, 'journal.jsonl')), undefined);
  const segs = shiftJournal(a.dataDir, rec.shiftId!).filter((r) => r.type === 'segment').map((r) => String(r.file));
  assert.ok(segs.length >= 4, `segments: ${segs.join(' ')}`);
  assert.deepEqual(segs, segs.map((_, i) => `seg-${String(i + 1).padStart(6, '0')}.ts`), 'numbered 1… without a hole or a repeat across the resume');
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.ts')).sort(), [...segs].sort(), 'every segment file is in the shift dir, journaled');
  const v = await runCli(['verify', dir, '--pubkey', join(dataDir, 'identity', 'device.pub.pem')]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

/** A small real recording argv: 2-s segments of a test picture, progress to `progress`. */
const argvFor = (startNumber: number): ArgvFor => (outDir, progress) => [
  '-hide_banner', '-nostdin', '-loglevel', 'warning', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=15',
  '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-f', 'segment', '-segment_time', '1', '-segment_format', 'mpegts',
  '-segment_start_number', String(startNumber), '-segment_list', 'pipe:3', '-segment_list_type', 'csv',
  '-progress', progress, '-stats_period', '0.25', `${outDir}/seg-%06d.ts`,
];

test('a parked run is released only for the argv it was parked with: another start number gets no run (the parked one is killed), the same one records into the directory named at release', { timeout: 60_000, skip: DIES_WITH_AGENT ? false : 'no setpriv' }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'bodycam-parking-'));
  dirs.push(root);
  const parking = new EncoderParking({ log: createLogger('test.parking') });
  try {
    await parking.park(argvFor(7));
    const pid = parking.pid!;
    assert.ok(pid > 0, 'parked');
    assert.equal(parking.take({ outDir: join(root, 'x'), argv: argvFor(8) }), undefined, 'start number 8 is not the parked run');
    const until = Date.now() + 5000;
    while (existsSync(`/proc/${pid}`) && Date.now() < until) await sleep(50);
    assert.equal(existsSync(`/proc/${pid}`), false, 'the mismatched parked run is killed and reaped');
    assert.equal(parking.pid, undefined);

    await parking.park(argvFor(7));
    const out = join(root, 'shift');
    mkdirSync(out);
    const proc = parking.take({ outDir: out, argv: argvFor(7) });
    assert.ok(proc, 'same argv: the parked run is released');
    const listed: string[] = [];
    proc.on('segment', (s) => listed.push(s.file));
    const first = new Promise((r) => proc.once('firstFrame', r));
    await first;
    await sleep(2500);
    await proc.stop();
    assert.ok(listed.length >= 1, 'segments listed');
    assert.equal(listed[0], 'seg-000007.ts');
    assert.ok(readdirSync(out).includes('seg-000007.ts'), `written into the release's directory: ${readdirSync(out).join(' ')}`);
  } finally {
    parking.dispose();
  }
});

test('SIGKILL of the agent\'s node process leaves no parked run behind (setpriv --pdeathsig)', { timeout: 60_000, skip: DIES_WITH_AGENT ? false : 'no setpriv' }, async () => {
  const a = await startAgent();
  agents.push(a);
  dirs.push(a.dataDir);
  const idle = await a.waitFor((s) => enc(s).parkedPid !== null, 20_000, 'a run parked while off duty');
  const pid = enc(idle).parkedPid!;
  assert.ok(existsSync(`/proc/${pid}`));
  await a.kill('SIGKILL');
  const until = Date.now() + 5000;
  while (existsSync(`/proc/${pid}`) && Date.now() < until) await sleep(50);
  assert.equal(existsSync(`/proc/${pid}`), false, `parked ffmpeg ${pid} outlived the agent`);
});
