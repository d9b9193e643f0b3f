/**
 * The HIL power-cut sequence (test/hil/run.sh): five boots on one ext4 data disk, four hard
 * power-offs.
 *   main      backend/agent tests, then starts shift A (plain) and arms cut 1;
 *   recover1  resumes A, checks cut 1, verifies the still open shift, arms cut 2;
 *   recover2  resumes A, checks cut 2, ends A and verifies it, starts shift B with encryption at
 *             rest, arms cut 3;
 *   recover3  resumes B, checks cut 3, ends B and verifies it with central's key; then restarts
 *             the agent in custody mode (duty starts by itself, period 1 of CUSTODY_PERIOD_S)
 *             and arms cut 4 mid-period;
 *   recover4  the agent resumes the same period (same shift id and number, no new period),
 *             checks cut 4 and the period's rotation timing, verifies the still open period.
 * "Arming" means: the shift is recording and this boot's checks are done. The guest then leaves
 * `armed.json` in its results share; the host waits a random 3–12 s (seeded, HIL_SEED) and kills
 * qemu, noting its own wall clock at the kill in `cut.json` in the same share. The next boot
 * reads both.
 *
 * Clocks: the journal's times are the guest's CLOCK_REALTIME, which the kernel set at boot from
 * qemu's CMOS RTC, itself started from the host clock (whole seconds). `clockSkew` measures the
 * guest clock against the host's by writing a file on the 9p results share: the host's kernel
 * stamps its mtime with the host clock, and the guest reads it back uncached.
 */
import { readFileSync, statSync, unlinkSync, writeFileSync, copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { runCli, shiftJournal, type AgentProc } from '../helpers/agent.js';
import type { JournalRecord } from '../../agent/evidence/journal.js';
import type { VerifyReport } from '../../agent/evidence/verify/report.js';
import { COVERAGE_TOLERANCE_MS } from '../../agent/evidence/verify/verify.js';
import type { CustodyStatus } from '../../agent/shift/custody-status.js';
import { LINE, RESULTS, pressLine, setMax17048, setPull, simValue, sleep, startAgentVm, waitFor } from './lib.js';

/** The ext4 data disk (guest.sh mounts /dev/vda there). */
export function dataDisk(): string {
  const d = process.env.HIL_DATA;
  if (!d) throw new Error('HIL_DATA (the ext4 data disk) is not mounted');
  return d;
}
export const dataDir = (): string => join(dataDisk(), 'bodycam');
export const devicePubKey = (): string => join(dataDir(), 'identity', 'device.pub.pem');

/** Results share of an earlier boot of this stage run (read through the host's root, read-only). */
export const phaseDir = (phase: string): string => join(RESULTS, '..', phase);

/** Where recover2 creates central's key pair: its own results share, which no power cut touches. */
export const CENTRAL_MADE_IN = 'recover2';
/** Plaintext stage for the encrypted shift: the guest's /run is tmpfs (the agent refuses anything else). */
export const STAGE_DIR = '/run/bodycam-stage';

/**
 * The custody duty's period (recover3 → cut 4 → recover4). Long enough that no rotation falls
 * between the duty's start and the end of recover4 even when both boots run into their timeouts
 * (run.sh: 300 s each): the period open at the cut must be the one still open when it is checked.
 */
export const CUSTODY_PERIOD_S = 900;

/** What the agent is started for: a plain shift, one encrypted at rest for central, or custody duty. */
export interface ShiftAgentKind {
  readonly central?: string;
  readonly custody?: boolean;
}

export function agentConfig(o: ShiftAgentKind = {}): Record<string, unknown> {
  // A signature every 3 segments (default 15): an open shift a few segments after a cut is then
  // already authenticated past its power_loss gap, which is what the open-shift verify checks.
  const policy = { encoderStallS: 20, signEverySegments: 3, ...(o.custody ? { custody: 1, periodS: CUSTODY_PERIOD_S } : {}) };
  const base = { power: { intervalS: 1 }, policy };
  return o.central ? { ...base, encryption: { centralPublicKey: join(o.central, 'central-x25519.pub.pem'), stageDir: STAGE_DIR } } : base;
}

/** Inputs at rest and a healthy battery: the state every boot of the sequence starts from. */
export function boardAtRest(): void {
  for (const l of [LINE.shift, LINE.privacy, LINE.dock]) setPull(l, false);
  setMax17048({ percent: 70, voltageV: 3.88, ratePctH: -10.4 });
}

export function startShiftAgent(o: ShiftAgentKind = {}): Promise<AgentProc> {
  return startAgentVm({ board: 'qemu-hil-sysfs', dataDir: dataDir(), config: agentConfig(o) });
}

/** Status `ext.custody` (agent/shift/custody-status.ts); undefined outside custody mode. */
export const custodyOf = (s: { ext: Record<string, unknown> }): CustodyStatus | undefined => s.ext.custody as CustodyStatus | undefined;

/** Ends the shift like the wearer: hold `shift` ≥ 3 s, then the confirming press. */
export async function endShift(a: AgentProc): Promise<void> {
  await pressLine(LINE.shift, 3500);
  await sleep(300);
  await pressLine(LINE.shift, 150);
  await a.waitFor((x) => x.state === 'OFF_DUTY', 60_000, 'shift ended');
}

export interface ClockSkew {
  /** Guest CLOCK_REALTIME minus host wall clock, ms (negative: the guest is behind). */
  readonly guestMinusHostMs: number;
  /** Half the guest-side round trip of the probe, plus the host's coarse-clock granularity. */
  readonly uncertaintyMs: number;
}

/**
 * Guest clock vs host clock. The host kernel stamps the probe file's mtime (host clock, coarse:
 * up to one 4 ms tick behind) while the guest's write is in flight, between t0 and t1 (guest
 * clock); `cache=none` makes the stat a real round trip to the host. Best of five probes.
 */
export function clockSkew(): ClockSkew {
  let best: ClockSkew | undefined;
  for (let i = 0; i < 5; i++) {
    const f = join(RESULTS, `.clock-probe-${i}`);
    const t0 = Date.now();
    writeFileSync(f, String(t0));
    const mtime = statSync(f).mtimeMs;
    const t1 = Date.now();
    unlinkSync(f);
    const c = { guestMinusHostMs: Math.round((t0 + t1) / 2 - mtime), uncertaintyMs: Math.ceil((t1 - t0) / 2) + 4 };
    if (!best || c.uncertaintyMs < best.uncertaintyMs) best = c;
  }
  return best!;
}

export interface Armed {
  readonly cut: number;
  readonly shiftId: string;
  readonly encrypted: boolean;
  /** Segments journaled when the cut was armed. */
  readonly segments: number;
  /** In custody mode, the period open when the cut was armed (status `ext.custody`). */
  readonly custody?: CustodyStatus;
  readonly guestArmedAt: string;
  readonly skew: ClockSkew;
}

export interface HostCut {
  readonly cut: number;
  readonly seed: number;
  /** The random delay the host waited after seeing `armed.json`. */
  readonly delayMs: number;
  /** Host wall clock (epoch s, µs) just before and just after `kill -9` of qemu. */
  readonly killBeforeS: number;
  readonly killAfterS: number;
}

/**
 * Signals the host that this boot is done and the shift is recording: the host cuts the power a
 * random 3–12 s later. Never returns: if the host does not cut, the boot times out and the stage
 * fails ("not powered off mid-shift").
 */
export async function armCut(a: AgentProc, cut: number, encrypted: boolean): Promise<never> {
  const s = await a.status();
  if (s.state !== 'RECORDING' || !s.shiftId) throw new Error(`cannot arm cut ${cut}: the agent is ${s.state}, not recording`);
  const custody = custodyOf(s);
  const armed: Armed = { cut, shiftId: s.shiftId, encrypted, segments: s.segments, ...(custody ? { custody } : {}), guestArmedAt: new Date().toISOString(), skew: clockSkew() };
  writeFileSync(join(RESULTS, 'armed.json'), JSON.stringify(armed));
  const what = custody ? `custody period ${custody.period} (${s.shiftId}, rotation due ${custody.nextRotationAt})` : `shift ${s.shiftId}`;
  console.log(`HIL: ${what} recording with ${s.segments} segments; cut ${cut} armed (guest clock ${armed.skew.guestMinusHostMs} ± ${armed.skew.uncertaintyMs} ms vs host)`);
  for (;;) await sleep(600_000);
}

/** What the boot before this one armed, and what the host did. */
export function previousCut(phase: string): { armed: Armed; host: HostCut } {
  const d = phaseDir(phase);
  return {
    armed: JSON.parse(readFileSync(join(d, 'armed.json'), 'utf8')) as Armed,
    host: JSON.parse(readFileSync(join(d, 'cut.json'), 'utf8')) as HostCut,
  };
}

export interface CutFinding {
  readonly cut: number;
  readonly shiftId: string;
  readonly encrypted: boolean;
  /** The cut fell in a custody period (recover3 → recover4). */
  readonly custody: boolean;
  readonly seed: number;
  readonly delayMs: number;
  /** Host wall clock of the kill (ISO, ms: midpoint of the before/after stamps). */
  readonly hostKillAt: string;
  readonly gapStart: string;
  readonly gapEnd: string;
  /** hostKill − gap.start, s, corrected for nothing. */
  readonly mediaLostS: number;
  /** Guest clock vs host, measured when the cut was armed (≤ 12 s before it) and in the next boot. */
  readonly skewBeforeCut: ClockSkew;
  readonly skewAfterBoot: ClockSkew;
  /** Segments the resumed agent found on disk unjournaled and sealed as recovered. */
  readonly recoveredSegments: number;
  /** The power_loss gap in full (kill to the first new media), s. */
  readonly gapS: number;
}

/**
 * The journal facts about the n-th power cut of a shift: its `recovery` record (what power_loss)
 * and the `power_loss` gap that follows it, with the segments on both sides of that gap. Throws
 * with the journal's shape when any is missing.
 */
export function cutInJournal(j: readonly JournalRecord[], nth: number): {
  recoveryIdx: number;
  gap: JournalRecord;
  gapIdx: number;
  before: JournalRecord | undefined;
  after: JournalRecord | undefined;
  recovered: number;
} {
  const shape = (): string => j.map((r) => `${r.type}${r.type === 'gap' ? `:${String(r.cause)}` : r.type === 'recovery' ? `:${String(r.what)}` : ''}`).join(', ');
  const recoveries = j.map((r, i) => ({ r, i })).filter(({ r }) => r.type === 'recovery' && r.what === 'power_loss');
  const rec = recoveries[nth - 1];
  if (!rec) throw new Error(`no power_loss recovery record #${nth} in the journal: ${shape()}`);
  const gapIdx = j.findIndex((r, i) => i > rec.i && r.type === 'gap' && r.cause === 'power_loss');
  if (gapIdx < 0) throw new Error(`no power_loss gap after recovery #${nth}: ${shape()}`);
  let before: JournalRecord | undefined;
  for (let i = gapIdx - 1; i >= 0 && !before; i--) if (j[i]!.type === 'segment') before = j[i];
  const after = j.slice(gapIdx + 1).find((r) => r.type === 'segment');
  const recovered = j.slice(rec.i, gapIdx).filter((r) => r.type === 'segment' && r.recovered === true).length;
  return { recoveryIdx: rec.i, gap: j[gapIdx]!, gapIdx, before, after, recovered };
}

export function measureCut(phase: string, gap: JournalRecord, recovered: number, skewAfterBoot: ClockSkew): CutFinding {
  const { armed, host } = previousCut(phase);
  const killMs = ((host.killBeforeS + host.killAfterS) / 2) * 1000;
  const gapStart = Date.parse(String(gap.start));
  const gapEnd = Date.parse(String(gap.end));
  return {
    cut: armed.cut,
    shiftId: armed.shiftId,
    encrypted: armed.encrypted,
    custody: armed.custody !== undefined,
    seed: host.seed,
    delayMs: host.delayMs,
    hostKillAt: new Date(Math.round(killMs)).toISOString(),
    gapStart: String(gap.start),
    gapEnd: String(gap.end),
    mediaLostS: Math.round(killMs - gapStart) / 1000,
    skewBeforeCut: armed.skew,
    skewAfterBoot,
    recoveredSegments: recovered,
    gapS: (gapEnd - gapStart) / 1000,
  };
}

export function describeCut(f: CutFinding): string {
  const sk = (s: ClockSkew): string => `${s.guestMinusHostMs >= 0 ? '+' : ''}${s.guestMinusHostMs} ± ${s.uncertaintyMs} ms`;
  return (
    `cut ${f.cut} (${f.custody ? 'custody period' : f.encrypted ? 'encrypted shift' : 'plain shift'} ${f.shiftId}, ${(f.delayMs / 1000).toFixed(2)} s after arming, seed ${f.seed}): ` +
    `media lost ${f.mediaLostS.toFixed(3)} s (host kill ${f.hostKillAt} − gap start ${f.gapStart}; target ≤ 2.5 s, not asserted); ` +
    `guest clock − host clock ${sk(f.skewBeforeCut)} before the cut, ${sk(f.skewAfterBoot)} after the reboot; ` +
    `${f.recoveredSegments} partial segment(s) recovered; power_loss gap ${f.gapS.toFixed(3)} s`
  );
}

/** Keeps the finding for the stage's summary (merge-tap.mjs prints it into hil.tap). */
export function saveFinding(f: CutFinding): void {
  writeFileSync(join(RESULTS, 'cut-finding.json'), JSON.stringify(f));
}

/**
 * A point-in-time copy of an open shift: the journal's complete lines at one moment and the files
 * they name. The live directory cannot be verified as is while the agent writes: a segment sealed
 * between the verifier's journal read and its directory listing would look like an extra file.
 */
export function snapshotOpenShift(shiftDir: string, dest: string): number {
  const buf = readFileSync(join(shiftDir, 'journal.jsonl'));
  const body = buf.subarray(0, buf.lastIndexOf(0x0a) + 1);
  mkdirSync(dest, { recursive: true });
  const recs = body.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as JournalRecord);
  for (const r of recs) {
    const f = r.type === 'segment' || (r.type === 'recovery' && r.what === 'journal_torn_tail') ? r.file : undefined;
    if (typeof f === 'string' && existsSync(join(shiftDir, f))) copyFileSync(join(shiftDir, f), join(dest, f));
  }
  writeFileSync(join(dest, 'journal.jsonl'), body);
  return recs.length;
}

/**
 * The power_loss gap covers the host's kill instant: its start (guest clock before the cut) is not
 * after the kill and its end (guest clock after the reboot) not before it, each guest time brought
 * to the host's clock with the skew measured on its side of the cut, within that measurement's
 * uncertainty plus verify's coverage tolerance. Media journaled as ending after the power was cut,
 * or the first media after the reboot journaled as starting before it, would fail this.
 */
export function assertGapCoversKill(phase: string, f: CutFinding): void {
  const { host } = previousCut(phase);
  const startOnHost = Date.parse(f.gapStart) - f.skewBeforeCut.guestMinusHostMs;
  const endOnHost = Date.parse(f.gapEnd) - f.skewAfterBoot.guestMinusHostMs;
  const killBefore = host.killBeforeS * 1000;
  const killAfter = host.killAfterS * 1000;
  assert.ok(startOnHost <= killAfter + f.skewBeforeCut.uncertaintyMs + COVERAGE_TOLERANCE_MS, `the power_loss gap starts (${f.gapStart}, ${startOnHost - killAfter} ms after the kill on the host's clock) no later than the host's kill (${f.hostKillAt})`);
  assert.ok(endOnHost >= killBefore - f.skewAfterBoot.uncertaintyMs - COVERAGE_TOLERANCE_MS, `the power_loss gap ends (${f.gapEnd}, ${endOnHost - killBefore} ms after the kill on the host's clock) no earlier than the host's kill (${f.hostKillAt})`);
}

/**
 * The checks every boot after a cut makes (a node:test body): the agent resumes the shift the
 * cut interrupted at once, journals a `power_loss` recovery and a `power_loss` gap whose bounds
 * are exactly the end of the last media kept from before the cut and the start of the first media
 * after it and which covers the host's kill instant; the media lost at the cut is measured against
 * the host's clock and reported.
 */
export async function checkResumedAfterCut(
  t: { diagnostic(msg: string): void },
  o: { afterPhase: string; nthInShift: number; central?: string; custody?: boolean; hold: { agent?: AgentProc } },
): Promise<CutFinding> {
  const { armed } = previousCut(o.afterPhase);
  boardAtRest();
  const skewAfterBoot = clockSkew();
  // Handed out at once: the boot goes on with this agent (next cut) even when a check fails.
  const a = (o.hold.agent = await startShiftAgent({ central: o.central, custody: o.custody }));
  const s = await a.waitFor((x) => x.state === 'RECORDING', 30_000, 'recording resumed after the power loss');
  assert.equal(s.shiftId, armed.shiftId, 'the shift the cut interrupted goes on');
  await waitFor(() => simValue(LINE.led_rec), 10_000, 'led_rec on again');
  // The gap is journaled when media arrives again (then its end is known): wait for new segments.
  await a.waitFor((x) => x.segments >= s.segments + 2, 90_000, 'new segments after the power loss');
  const j = shiftJournal(dataDir(), armed.shiftId);
  const c = cutInJournal(j, o.nthInShift);
  assert.ok(c.before, 'media was journaled before the cut (the cut was armed after a sealed segment)');
  assert.ok(c.after, 'media is journaled after the gap');
  assert.equal(c.gap.start, c.before.end, 'the power_loss gap starts exactly where the last media kept from before the cut ends');
  assert.equal(c.gap.end, c.after.start, 'the power_loss gap ends exactly where the first media after the reboot starts');
  assert.ok(Date.parse(String(c.gap.end)) > Date.parse(String(c.gap.start)), 'the gap is a non-empty interval');
  if (armed.encrypted) assert.ok(String(c.after.file).endsWith('.ts.enc') && String(c.before.file).endsWith('.ts.enc'), 'both sides of the gap are encrypted segments');
  const f = measureCut(o.afterPhase, c.gap, c.recovered, skewAfterBoot);
  assert.ok(Number.isFinite(f.mediaLostS), `media lost at the cut is a finite number (${f.mediaLostS})`);
  assert.ok(Number.isFinite(f.skewBeforeCut.guestMinusHostMs) && Number.isFinite(f.skewAfterBoot.guestMinusHostMs), 'the clock skew was measured');
  const line = describeCut(f);
  console.log(`HIL: ${line}`);
  t.diagnostic(line);
  saveFinding(f);
  assertGapCoversKill(o.afterPhase, f);
  return f;
}

/**
 * `bodycam verify` of a shift still open after its nth power cut (a node:test body): once a
 * signature after the power_loss gap is journaled, a point-in-time copy shows the shift untampered
 * and signed past the gap. A copy ending on a signature is an open prefix (intact, verified past
 * the gap); otherwise its only error findings are the missing shift_end, the unsigned tail and the
 * not yet sealed tail.
 */
export async function checkOpenShiftVerifies(shiftId: string, nthInShift: number): Promise<void> {
  const gapLine = (): number => cutInJournal(shiftJournal(dataDir(), shiftId), nthInShift).gapIdx + 1;
  // The next signature after the gap (every 3 segments, see agentConfig) authenticates it.
  await waitFor(() => shiftJournal(dataDir(), shiftId).some((r, i) => r.type === 'signature' && i + 1 > gapLine()), 90_000, 'a signature after the power_loss gap');
  const snap = `/tmp/open-shift-${shiftId}`;
  const lines = snapshotOpenShift(shiftDirOf(shiftId), snap);
  const v = await verifyJson(snap);
  const r = v.report;
  console.log(`HIL: verify of the open shift ${shiftId} (${lines} journal lines): ${r.summary}; gaps ${JSON.stringify(r.totals.gapS)}`);
  // An open shift's timeline ends at its last record, which is journaled after the last sealed
  // media ended: the verifier shows that tail (the segment still being recorded) as a hole.
  const tail = r.timeline.filter((x) => x.kind === 'hole' && r.end !== null && x.end === Date.parse(r.end));
  const errors = r.findings.filter((f) => f.severity === 'error');
  assert.ok(r.journal.signedThroughLine > gapLine(), `signed through line ${r.journal.signedThroughLine}, the gap is line ${gapLine()}`);
  if (r.journal.unsignedTail === 0) {
    // The snapshot fell just after a signature (every 3rd segment): a verifiable open prefix, as
    // central ingest sees a live-offloaded shift (docs/evidence-format.md §8).
    assert.equal(r.open, true, 'a journal ending on a signature without shift_end is an open prefix');
    assert.equal(r.verdict, 'intact');
    assert.equal(v.code, 0);
    assert.deepEqual(errors, [], 'no error finding in an open prefix');
    const gapAt = shiftJournal(dataDir(), shiftId)[gapLine() - 1]!.at ?? '';
    assert.ok(typeof r.verifiedThrough === 'string' && Date.parse(r.verifiedThrough) > Date.parse(gapAt), `verified through ${r.verifiedThrough}, past the power_loss gap journaled at ${gapAt}`);
    assert.ok((r.totals.gapS.power_loss ?? 0) > 0, 'the power_loss gap is on the timeline');
    return;
  }
  assert.deepEqual(errors.filter((f) => f.kind !== 'no_shift_end' && f.kind !== 'unsigned_tail' && !(f.kind === 'coverage_hole' && tail.length === 1)), [], 'no other error finding');
  assert.ok(errors.some((f) => f.kind === 'no_shift_end'), 'the shift is reported open');
  assert.equal(r.verdict, 'incomplete');
  assert.equal(v.code, 1);
  const tailS = tail.reduce((n, x) => n + (x.end - x.start) / 1000, 0);
  assert.ok(Math.abs(r.totals.uncoveredS - tailS) < 0.002, `nothing is uncovered but the tail after the last sealed media (${r.totals.uncoveredS} s, tail ${tailS} s)`);
  assert.ok((r.totals.gapS.power_loss ?? 0) > 0, 'the power_loss gap is on the timeline');
}

/** `bodycam verify --json` on a shift directory. */
export async function verifyJson(shiftDir: string, central?: string): Promise<{ code: number | null; report: VerifyReport; text: string }> {
  const args = ['verify', shiftDir, '--pubkey', devicePubKey(), '--json'];
  if (central) args.push('--key', join(central, 'central-x25519.key.pem'));
  const v = await runCli(args, { timeoutMs: 240_000 });
  let report: VerifyReport;
  try {
    report = JSON.parse(v.stdout) as VerifyReport;
  } catch {
    throw new Error(`verify printed no JSON report (exit ${v.code}): ${v.stdout}${v.stderr}`);
  }
  return { code: v.code, report, text: v.stdout };
}

export const shiftDirOf = (shiftId: string): string => join(dataDir(), 'shifts', shiftId);
