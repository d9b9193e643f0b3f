/**
 * The device journal is evidence too: a real provisioned agent (sim board, real ffmpeg) started
 * and stopped a few times, with one shift, leaves a device journal that `bodycam verify` finds
 * intact with the device's key; one flipped byte, one deleted line or one altered signature makes
 * it exit 1 naming the line; a crash leaves an unsigned tail reported by its length; a file that is
 * not a journal exits 2.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startAgent, tempDataDir, type AgentProc } from '../helpers/agent.js';
import { bodycam, kinds, type CliResult } from './tamper.js';

const DJ = 'device-journal.jsonl';
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
let dataDir: string;
let work: string;
let pub: string;
let lines: string[];
const agents: AgentProc[] = [];

async function runAgent(what: (a: AgentProc) => Promise<void>): Promise<void> {
  const a = await startAgent({ dataDir });
  agents.push(a);
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'off duty after start');
  await what(a);
  assert.equal(await a.stop(), 0, a.logs().slice(-3000));
}

before(async () => {
  dataDir = tempDataDir('bodycam-devj-');
  work = mkdtempSync(join(tmpdir(), 'bodycam-devj-copies-'));
  const p = bodycam(['provision', '--data-dir', dataDir, '--device-id', `cam-devj-${randomBytes(2).toString('hex')}`]);
  assert.equal(p.code, 0, p.stderr);
  pub = p.stdout.trim();
  await runAgent(async () => undefined);
  await runAgent(async (a) => {
    await a.press('shift', { holdS: 2.2 });
    await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 2, 60_000, 'two segments');
    await a.press('shift', { holdS: 3.2 });
    await a.press('shift');
    await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'shift end');
  });
  await runAgent(async () => undefined);
  lines = readFileSync(join(dataDir, DJ), 'utf8').split('\n').slice(0, -1);
}, { timeout: 240_000 });

after(async () => {
  for (const a of agents) await a.stop();
  for (const d of [dataDir, work, `${dataDir}-config.json`]) if (d) rmSync(d, { recursive: true, force: true });
});

/** Writes lines as `<work>/<name>/device-journal.jsonl` (the original stays untouched for the other tests). */
function copyWith(name: string, ls: readonly string[]): string {
  mkdirSync(join(work, name), { recursive: true });
  const p = join(work, name, DJ);
  writeFileSync(p, ls.map((l) => l + '\n').join(''));
  return p;
}

const verify = (path: string, ...extra: string[]): CliResult => bodycam(['verify', path, '--pubkey', pub, '--json', ...extra]);
const errorsAt = (r: CliResult): string[] => (r.json?.findings ?? []).filter((f) => f.severity === 'error').map((f) => `${f.kind}@${f.where}`);
const types = (): string[] => lines.map((l) => (JSON.parse(l) as { type: string }).type);

void test('a provisioned agent started and stopped three times with a shift leaves a device journal that verifies intact (exit 0, signed through the last line)', () => {
  const t = types();
  assert.ok(t.filter((x) => x === 'signature').length >= 3, `a signature at every clean stop: ${t.join(',')}`);
  assert.equal(t.at(-1), 'signature');
  const html = join(work, 'report.html');
  const r = verify(join(dataDir, DJ), '--html', html);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json?.verdict, 'intact');
  const j = r.json!.journal as { lines: number; unsignedTail: number; validSignatures: number; signedThroughLine: number };
  assert.equal(j.lines, lines.length);
  assert.equal(j.unsignedTail, 0);
  assert.equal(j.signedThroughLine, lines.length);
  assert.equal(j.validSignatures, t.filter((x) => x === 'signature').length);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /data-verdict="intact"/);
  assert.equal((page.match(/<tr><td>\d+<\/td>/g) ?? []).length, lines.length, 'the HTML lists every record');
});

void test('one flipped byte in line 2 of the device journal: exit 1, chain_broken at line 3 naming line 2 as altered, and the signatures after it fail', () => {
  const l2 = lines[1]!;
  const i = l2.indexOf('"type":"') + 8; // a letter of the record type: still valid JSON
  const flipped = l2.slice(0, i) + String.fromCharCode(l2.charCodeAt(i) ^ 0x01) + l2.slice(i + 1);
  const r = verify(copyWith('flip', [lines[0]!, flipped, ...lines.slice(2)]));
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.json?.verdict, 'tampered');
  const broken = r.json!.findings.find((f) => f.kind === 'chain_broken')!;
  assert.equal(broken.where, `${DJ}:3`);
  assert.match(broken.message, /line 2 was altered/);
  assert.ok(kinds(r).includes('signature_invalid') || kinds(r).includes('no_valid_signature'), errorsAt(r).join(' '));
});

void test('a deleted line 3 of the device journal: exit 1, seq and chain_broken findings at line 3', () => {
  const r = verify(copyWith('deleted', [...lines.slice(0, 2), ...lines.slice(3)]));
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.json?.verdict, 'tampered');
  const at3 = errorsAt(r).filter((x) => x.endsWith(`@${DJ}:3`));
  assert.ok(at3.includes(`seq@${DJ}:3`) && at3.includes(`chain_broken@${DJ}:3`), errorsAt(r).join(' '));
});

void test('an altered signature in the device journal, chain recomputed around it: exit 1, signature_invalid at exactly that line', () => {
  const at = types().indexOf('signature');
  const sig = JSON.parse(lines[at]!) as Record<string, unknown>;
  const b = Buffer.from(String(sig.sig), 'base64');
  b[5]! ^= 0xff;
  const forged = [...lines];
  forged[at] = JSON.stringify({ ...sig, sig: b.toString('base64') });
  // An attacker with the file recomputes every later prev so that only the signature can tell.
  for (let k = at + 1; k < forged.length; k++) {
    const rec = JSON.parse(forged[k]!) as Record<string, unknown>;
    rec.prev = sha256(forged[k - 1]!);
    if (rec.type === 'signature') rec.head = rec.prev;
    forged[k] = JSON.stringify(rec);
  }
  const r = verify(copyWith('forged-sig', forged));
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.json?.verdict, 'tampered');
  // Findings come in line order; the first one with a line is the altered signature itself.
  const first = r.json!.findings.find((f) => f.severity === 'error' && f.where.startsWith(`${DJ}:`));
  assert.equal(first?.kind, 'signature_invalid', errorsAt(r).join(' '));
  assert.equal(first?.where, `${DJ}:${at + 1}`);
  assert.ok(!kinds(r).includes('chain_broken'), 'the chain itself is consistent');
});

void test('a device journal whose last records no signature covers (agent SIGKILLed): exit 1, unsigned_tail with its length', async () => {
  const a = await startAgent({ dataDir });
  agents.push(a);
  await a.waitFor((s) => s.state === 'OFF_DUTY', 30_000, 'off duty after start');
  await a.kill('SIGKILL');
  const now = readFileSync(join(dataDir, DJ), 'utf8').split('\n').slice(0, -1);
  const tail = now.length - lines.length;
  assert.ok(tail >= 1, 'the new start journaled something');
  const r = verify(join(dataDir, DJ));
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.json?.verdict, 'incomplete');
  assert.equal((r.json!.journal as { unsignedTail: number }).unsignedTail, tail);
  const f = r.json!.findings.find((x) => x.kind === 'unsigned_tail')!;
  assert.equal(f.where, `${DJ}:${lines.length + 1}`);
  assert.match(f.message, new RegExp(`^${tail} record\\(s\\) after the last valid signature \\(line ${lines.length}\\)`));
});

void test('files that are not a device journal exit 2: a PEM key, JSON lines without journal records, a shift journal', () => {
  const notJournal = copyWith('not-journal', ['{"hello":"world"}', '{"a":1}']);
  for (const p of [pub, notJournal]) {
    const r = verify(p);
    assert.equal(r.code, 2, `${p}: ${r.stdout}${r.stderr}`);
    assert.equal(r.json?.verdict, 'unusable');
  }
  const shifts = readdirSync(join(dataDir, 'shifts'));
  assert.equal(shifts.length, 1);
  const r = verify(join(dataDir, 'shifts', shifts[0]!, 'journal.jsonl'));
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /shift's journal/);
});
