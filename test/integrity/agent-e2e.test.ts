/**
 * Evidence integrity end to end with the real agent (sim board, real ffmpeg):
 * - an encrypted shift: while it records, no file under the data dir decodes as media (the
 *   plaintext exists only on the tmpfs stage); afterwards central's key decrypts it bit-exact,
 *   a wrong key is refused, and the shift verifies;
 * - a shift cut by SIGKILL of the agent verifies up to its last signature and reports the unsigned
 *   tail; once the restarted agent closes it, it verifies intact with the agent_restart gap.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startAgent, tempDataDir, shiftJournal, type AgentProc } from '../helpers/agent.js';
import { bodycam } from './tamper.js';

const agents: AgentProc[] = [];
const dirs: string[] = [];
after(async () => {
  for (const a of agents) await a.stop();
  // (the harness writes each agent's config file beside its data dir: `<dataDir>-config.json`)
  for (const d of dirs) for (const p of [d, `${d}-config.json`]) rmSync(p, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Regular files under `dir`, recursively (sockets and dirs skipped). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue; // removed meanwhile (the stage deletes plaintext after encrypting it)
    }
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/**
 * Is the file decodable footage: an H.264 stream of which at least one frame decodes? (Counting
 * packets of any guessed format is not enough: ffprobe's format sniffing occasionally "finds" a
 * stream in random bytes such as ciphertext.)
 */
function decodesAsVideo(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'ffprobe',
      ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'csv=p=0', path],
      { timeout: 20_000 },
      (err, stdout) => resolve(!err && /^h264,[1-9]\d*/m.test(stdout.trim())),
    );
  });
}

function provision(dataDir: string): string {
  const r = bodycam(['provision', '--data-dir', dataDir, '--device-id', `cam-e2e-${randomBytes(2).toString('hex')}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

void test('encrypted shift: no decodable plaintext in the data dir while recording; central decrypts bit-exact; wrong key refused', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('bodycam-e2e-enc-');
  dirs.push(dataDir);
  const keys = mkdtempSync(join(tmpdir(), 'bodycam-e2e-central-'));
  dirs.push(keys);
  const stage = `/dev/shm/bodycam-e2e-${randomBytes(4).toString('hex')}`;
  dirs.push(stage);
  const pub = provision(dataDir);
  assert.equal(bodycam(['keygen-central', '--out', join(keys, 'central')]).code, 0);
  assert.equal(bodycam(['keygen-central', '--out', join(keys, 'wrong')]).code, 0);
  const centralPub = join(keys, 'central', 'central-x25519.pub.pem');
  const centralKey = join(keys, 'central', 'central-x25519.key.pem');

  const a = await startAgent({ dataDir, config: { encryption: { centralPublicKey: centralPub, stageDir: stage }, policy: { signEverySegments: 3 } } });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  await a.waitFor((s) => s.state === 'RECORDING', 20_000, 'recording');

  // Sweep the data dir (and, as a control, the stage) until enough segments are sealed.
  let probed = 0;
  let stagePlainSeen = 0;
  let paused = false;
  for (;;) {
    for (const f of filesUnder(dataDir)) {
      probed++;
      assert.equal(await decodesAsVideo(f), false, `${f} decodes as media while the shift runs`);
    }
    for (const f of filesUnder(stage)) if (f.endsWith('.ts') && (await decodesAsVideo(f))) stagePlainSeen++;
    const s = await a.status();
    if (!paused && s.segments >= 3) {
      // A pause and resume, so the shift has more than media in it.
      await a.press('privacy');
      await a.waitFor((x) => x.state === 'PAUSED', 10_000, 'paused');
      await new Promise((r) => setTimeout(r, 1500));
      await a.press('privacy');
      await a.waitFor((x) => x.state === 'RECORDING', 10_000, 'resumed');
      paused = true;
    }
    if (paused && s.segments >= 6) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(probed >= 20, `probed ${probed} files`);
  assert.ok(stagePlainSeen > 0, 'the control: plaintext on the tmpfs stage does decode, so the probe would have caught it');

  await a.press('shift', { holdS: 3.1 });
  await a.press('shift');
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'shift end');
  const shiftId = readdirSync(join(dataDir, 'shifts'))[0]!;
  const dir = join(dataDir, 'shifts', shiftId);
  for (const f of filesUnder(dataDir)) assert.equal(await decodesAsVideo(f), false, `${f} decodes as media after the shift`);
  assert.deepEqual(filesUnder(stage).filter((f) => f.endsWith('.ts')), [], 'no plaintext left on the stage');

  const segs = shiftJournal(dataDir, shiftId).filter((r) => r.type === 'segment');
  assert.ok(segs.length >= 6);
  assert.ok(segs.every((r) => String(r.file).endsWith('.ts.enc') && typeof r.plain_sha256 === 'string'));

  const v = bodycam(['verify', dir, '--pubkey', pub, '--key', centralKey, '--json']);
  assert.equal(v.code, 0, v.stdout);
  const rep = v.json as unknown as { encrypted: boolean; mediaChecked: number; totals: { pauseS: Record<string, number> } };
  assert.equal(rep.encrypted, true);
  assert.equal(rep.mediaChecked, segs.length, 'every segment decrypted, hashed, decoded and its frames counted');
  assert.ok((rep.totals.pauseS.PERSONAL_NEEDS ?? 0) > 1);

  const out = join(keys, 'plain');
  const d = bodycam(['decrypt', dir, '--key', centralKey, '--out', out]);
  assert.equal(d.code, 0, d.stderr);
  for (const r of segs) {
    const plain = readFileSync(join(out, String(r.file).replace(/\.enc$/, '')));
    assert.equal(sha256(plain), r.plain_sha256, `${String(r.file)}: bit-exact to what the encoder wrote`);
    assert.equal(plain.length, r.plain_bytes);
  }
  const wrong = bodycam(['decrypt', dir, '--key', join(keys, 'wrong', 'central-x25519.key.pem'), '--out', join(keys, 'nope')]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /wrong key/);
  // The device's own key material cannot decrypt either.
  assert.equal(bodycam(['decrypt', dir, '--key', join(dataDir, 'identity', 'device.key'), '--out', join(keys, 'nope')]).code, 2);
});

void test('SIGKILL of the agent: verifies up to the last signature, reports the unsigned tail; after restart and close it is intact with the gap', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('bodycam-e2e-kill-');
  dirs.push(dataDir);
  const pub = provision(dataDir);
  const config = { policy: { signEverySegments: 4 } };
  const a = await startAgent({ dataDir, config });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  // Kill between signatures, 1-2 segments after one: even a segment sealed between this status
  // and the kill cannot bring the next signature (it comes with every 4th).
  const s = await a.waitFor((x) => x.segments >= 5 && (x.segments % 4 === 1 || x.segments % 4 === 2), 60_000, 'segments between signatures');
  await a.kill('SIGKILL');
  const dir = join(dataDir, 'shifts', s.shiftId!);

  const cut = bodycam(['verify', dir, '--pubkey', pub, '--json']);
  assert.equal(cut.code, 1, cut.stdout);
  const r1 = cut.json as unknown as { verdict: string; journal: { signedThroughLine: number; unsignedTail: number; lines: number; validSignatures: number }; findings: { kind: string; where: string; category: string }[] };
  assert.equal(r1.verdict, 'incomplete', 'authentic up to the cut: not tampered');
  assert.ok(r1.journal.validSignatures >= 1);
  assert.ok(r1.journal.signedThroughLine > 1);
  assert.ok(r1.journal.unsignedTail > 0, 'records after the last signature');
  assert.equal(r1.journal.signedThroughLine + r1.journal.unsignedTail, r1.journal.lines);
  const kinds = r1.findings.map((f) => f.kind);
  assert.ok(kinds.includes('unsigned_tail') && kinds.includes('no_shift_end'), JSON.stringify(r1.findings));
  assert.ok(r1.findings.every((f) => f.category !== 'tampered'), JSON.stringify(r1.findings));
  const text = bodycam(['verify', dir, '--pubkey', pub]);
  assert.match(text.stdout, /unsigned record\(s\) trail/);

  // The restarted agent resumes the shift, journals the gap, and its signatures cover the tail.
  const b = await startAgent({ dataDir, config });
  agents.push(b);
  await b.waitFor((x) => x.state === 'RECORDING' && x.segments >= s.segments + 3, 60_000, 'recording after restart');
  await b.press('shift', { holdS: 3.1 });
  await b.press('shift');
  await b.waitFor((x) => x.state === 'OFF_DUTY', 30_000, 'shift end');

  const html = join(dataDir, '..', `${s.shiftId}.html`);
  const fin = bodycam(['verify', dir, '--pubkey', pub, '--json', '--probe', '--html', html]);
  assert.equal(fin.code, 0, fin.stdout);
  const r2 = fin.json as unknown as { journal: { unsignedTail: number }; totals: { gapS: Record<string, number>; uncoveredS: number } };
  assert.equal(r2.journal.unsignedTail, 0);
  assert.ok((r2.totals.gapS.agent_restart ?? 0) > 0, `gap per cause: ${JSON.stringify(r2.totals.gapS)}`);
  assert.equal(r2.totals.uncoveredS, 0);
  assert.match(readFileSync(html, 'utf8'), /agent_restart/);
  dirs.push(html);
});

void test('encrypted shift cut by SIGKILL: the restarted agent encrypts what the stage kept, and central verifies every segment', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('bodycam-e2e-enckill-');
  dirs.push(dataDir);
  const keys = mkdtempSync(join(tmpdir(), 'bodycam-e2e-central-'));
  dirs.push(keys);
  const stage = `/dev/shm/bodycam-e2e-${randomBytes(4).toString('hex')}`;
  dirs.push(stage);
  const pub = provision(dataDir);
  assert.equal(bodycam(['keygen-central', '--out', keys]).code, 0);
  const config = { encryption: { centralPublicKey: join(keys, 'central-x25519.pub.pem'), stageDir: stage }, policy: { signEverySegments: 4 } };
  const a = await startAgent({ dataDir, config });
  agents.push(a);
  await a.press('shift', { holdS: 2.1 });
  const s = await a.waitFor((x) => x.segments >= 3, 60_000, '3 segments');
  await new Promise((r) => setTimeout(r, 800)); // mid-segment
  await a.kill('SIGKILL');
  const dir = join(dataDir, 'shifts', s.shiftId!);
  const cut = bodycam(['verify', dir, '--pubkey', pub, '--json']);
  assert.equal(cut.code, 1);
  assert.equal(cut.json?.verdict, 'incomplete');

  const b = await startAgent({ dataDir, config });
  agents.push(b);
  await b.waitFor((x) => x.state === 'RECORDING' && x.segments >= s.segments + 3, 60_000, 'recording after restart');
  await b.press('shift', { holdS: 3.1 });
  await b.press('shift');
  await b.waitFor((x) => x.state === 'OFF_DUTY', 30_000, 'shift end');

  const segs = shiftJournal(dataDir, s.shiftId!).filter((r) => r.type === 'segment');
  assert.ok(segs.some((r) => r.recovered === true), 'the segment ffmpeg was writing at the kill is recovered from the stage');
  assert.ok(segs.every((r) => String(r.file).endsWith('.enc')));
  const v = bodycam(['verify', dir, '--pubkey', pub, '--key', join(keys, 'central-x25519.key.pem'), '--json']);
  assert.equal(v.code, 0, v.stdout);
  assert.equal((v.json as unknown as { mediaChecked: number }).mediaChecked, segs.length);
  assert.ok(((v.json as unknown as { totals: { gapS: Record<string, number> } }).totals.gapS.agent_restart ?? 0) > 0);
  for (const f of filesUnder(dataDir)) assert.equal(await decodesAsVideo(f), false, `${f} decodes as media`);
});
