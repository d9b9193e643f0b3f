/**
 * Offline evaluation of the obstruction detectors (issue 25): every scene of the corpus
 * (test/fixtures/scenes) through the recording ffmpeg's analysis graph, unpaced, then the pure
 * detectors over the measurements; prints the measures per scene, a confusion table and the
 * time to detect, then a 12-hour-equivalent replay of the normal scenes.
 *   node dist/test/bench/obstruction-eval.js [--hours 12] [--measures]
 * Exit 1 when any scene is misjudged or the replay raised any finding.
 */
import { scenes, type Scene, type SceneClass } from '../fixtures/scenes/scenes.js';
import { runScene, detect, feedRun, type SceneRun } from './obstruction-scenes.js';
import { ObstructionDetector, KindDetector, CLEAR_MARGIN, type Calibration, type Finding, type ObstructionKind } from '../../agent/obstruction/detectors.js';
import { detectorPolicy } from '../../agent/obstruction/room.js';
import { DEFAULT_POLICY } from '../../agent/config/policy.js';

export const POLICY = detectorPolicy(DEFAULT_POLICY);
/**
 * The corpus camera's calibration: the noise floor as calibrateFromFrames measures it on the
 * still-desk scene (0.05), a typical MEMS microphone (−26 dBFS at 94 dB SPL, 33 dB SPL self-noise).
 */
export const CORPUS_CALIBRATION: Calibration = { noiseFloorFrameDiff: 0.05, micSensitivityDbfsAt94DbSpl: -26, micSelfNoiseDbSpl: 33 };

export interface Judged {
  readonly scene: Scene;
  readonly run: SceneRun;
  readonly findings: Finding[];
  readonly got: SceneClass;
  /** Onset decision minus the change, s (obstructed scenes that were detected). */
  readonly detectS: number | undefined;
  readonly ok: boolean;
}

export function judge(scene: Scene, run: SceneRun, calibration: Calibration | undefined): Judged {
  const findings = detect(run, POLICY, calibration);
  const onsets = findings.filter((f) => f.t === 'onset');
  const kinds = [...new Set(onsets.map((f) => f.kind))];
  const got: SceneClass = kinds.length === 0 ? 'normal' : kinds.length === 1 ? kinds[0]! : (kinds.join('+') as SceneClass);
  const mine = onsets.find((f) => f.kind === scene.expect);
  const detectS = mine && scene.changeS !== undefined ? (mine.atMs - scene.changeS * 1000) / 1000 : undefined;
  const ok = got === scene.expect && (scene.expect === 'normal' || (detectS !== undefined && detectS >= 0 && detectS <= 10));
  return { scene, run, findings, got, detectS, ok };
}

const pct = (xs: number[], q: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const r2 = (x: number): string => (Number.isFinite(x) ? (Math.round(x * 100) / 100).toString() : '-');

/** Per scene, before and after the change: the measures the thresholds rest on (min / median / max). */
export function measureRows(j: Judged): string[] {
  const cut = (j.scene.changeS ?? Infinity) * 2;
  const parts: Array<[string, (i: number) => boolean]> = j.scene.changeS !== undefined ? [['before', (i) => i < cut], ['after', (i) => i >= cut + 2]] : [['all', () => true]];
  const out: string[] = [];
  for (const [label, sel] of parts) {
    const fr = j.run.frames.filter((f) => sel(f.index));
    const lv = j.run.levels.filter((l) => sel(l.index));
    const m = (name: string, xs: number[]): string => `${name} ${r2(pct(xs, 0))}/${r2(pct(xs, 0.5))}/${r2(pct(xs, 1))}`;
    out.push(
      `  ${j.scene.name.padEnd(16)} ${label.padEnd(6)} ` +
        [
          m('mean', fr.map((f) => f.mean)),
          m('spread', fr.map((f) => f.spread)),
          m('grad', fr.map((f) => f.grad)),
          m('edgeMax', fr.map((f) => f.edgeMax)),
          m('diff', fr.flatMap((f) => (f.diff === undefined ? [] : [f.diff]))),
          m('changed', fr.flatMap((f) => (f.changed === undefined ? [] : [f.changed]))),
          m('dBFS', lv.map((l) => l.rmsDbfs)),
          m('zero', lv.map((l) => l.zeroFrac)),
        ].join('  '),
    );
  }
  return out;
}

export function confusion(js: readonly Judged[]): string[] {
  const classes: SceneClass[] = ['normal', 'covered', 'frozen', 'silent'];
  const got = [...new Set([...classes, ...js.map((j) => j.got)])];
  const out = [`  ${'expected \\ found'.padEnd(18)}${got.map((g) => g.padStart(10)).join('')}`];
  for (const e of classes) out.push(`  ${e.padEnd(18)}${got.map((g) => String(js.filter((j) => j.scene.expect === e && j.got === g).length).padStart(10)).join('')}`);
  return out;
}

/**
 * Replays the normal scenes' measurements end to end, scene after scene and round after round,
 * into ONE detector (its debounce state carries over the joins) until `hours` of media time.
 * Each round uses a different recording of the scene (another noise seed), `seeds` of them.
 */
export function replay(runs: readonly SceneRun[], hours: number): { findings: Finding[]; mediaH: number; samples: number } {
  const d = new ObstructionDetector(() => POLICY, CORPUS_CALIBRATION);
  const findings: Finding[] = [];
  let offset = 0;
  let samples = 0;
  const target = hours * 3600_000;
  while (offset < target) {
    for (const r of runs) {
      findings.push(...feedRun(d, r, offset));
      samples += r.frames.length + r.levels.length;
      offset += (r.frames.length * 1000) / 2;
      if (offset >= target) break;
    }
  }
  findings.push(...d.stop());
  return { findings, mediaH: offset / 3600_000, samples };
}

/**
 * The detectors as they were before issue 25 (luma mean/spread only, frame difference ≤
 * frozenDiffMax, level ≤ silentDbfsMax), same debounce, for comparison on the same measurements.
 */
export function legacyOnsets(run: SceneRun): Finding[] {
  const p = POLICY;
  const kd = { covered: new KindDetector('covered'), frozen: new KindDetector('frozen'), silent: new KindDetector('silent') } as Record<ObstructionKind, KindDetector>;
  const v = (bad: boolean, good: boolean): 'bad' | 'good' | 'between' => (bad ? 'bad' : good ? 'good' : 'between');
  const out: Finding[] = [];
  const push = (f: Finding | undefined): void => void (f && f.t === 'onset' && out.push(f));
  for (const f of run.frames) {
    const at = f.index * 500;
    const cov = v(f.mean <= p.coveredLumaMax && f.spread <= p.coveredSpreadMax, f.mean > p.coveredLumaMax + CLEAR_MARGIN.lumaMean || f.spread > p.coveredSpreadMax + CLEAR_MARGIN.lumaSpread);
    push(kd.covered.feed(at, cov, {}, p));
    const fr = f.diff === undefined || cov !== 'good' ? (cov === 'bad' ? 'good' : 'between') : v(f.diff <= p.frozenDiffMax, f.diff > p.frozenDiffMax + 0.1);
    push(kd.frozen.feed(at, fr, {}, p));
  }
  for (const l of run.levels) push(kd.silent.feed(l.index * 500, v(l.rmsDbfs <= p.silentDbfsMax, l.rmsDbfs > p.silentDbfsMax + CLEAR_MARGIN.levelDb), {}, p));
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const hours = argv.includes('--hours') ? Number(argv[argv.indexOf('--hours') + 1]) : 12;
  const seeds = Number(argv.includes('--seeds') ? argv[argv.indexOf('--seeds') + 1] : 3) || 3;
  const t0 = performance.now();
  const judged: Judged[] = [];
  const normals: SceneRun[] = [];
  let mediaS = 0;
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1]!.split(',') : undefined;
  for (let seed = 1; seed <= seeds; seed++) {
    for (const s of scenes(seed).filter((x) => !only || only.includes(x.name))) {
      const run = await runScene(s);
      mediaS += s.durationS;
      if (s.expect === 'normal') normals.push(run);
      if (seed === 1) {
        for (const cal of [CORPUS_CALIBRATION, undefined]) judged.push(judge(s, run, cal));
      }
    }
  }
  const wallS = (performance.now() - t0) / 1000;
  const withCal = judged.filter((_, i) => i % 2 === 0);
  const noCal = judged.filter((_, i) => i % 2 === 1);
  console.log(`obstruction eval: ${scenes().length} scenes x ${seeds} seeds, ${mediaS} s of media through the analysis graph in ${wallS.toFixed(1)} s (${(mediaS / wallS).toFixed(1)}x real time)`);
  console.log('\nmeasures (min/median/max; before = up to the change, after = from 1 s after it):');
  for (const j of withCal) for (const line of measureRows(j)) console.log(line);
  for (const [label, js] of [['calibrated (corpus camera)', withCal], ['uncalibrated', noCal]] as const) {
    console.log(`\nconfusion, ${label}:`);
    for (const line of confusion(js)) console.log(line);
    for (const j of js) {
      const f = j.findings.filter((x) => x.t === 'onset').map((x) => `${x.kind}@${(x.atMs / 1000).toFixed(1)}s`).join(' ') || '-';
      console.log(`  ${j.ok ? 'ok  ' : 'FAIL'} ${j.scene.name.padEnd(16)} expect ${j.scene.expect.padEnd(8)} got ${j.got.padEnd(8)} ${j.detectS !== undefined ? `detected ${j.detectS.toFixed(1)} s after the change` : ''} [${f}]`);
    }
  }
  console.log('\nthe detectors before issue 25 on the same measurements (onsets):');
  for (const j of withCal) {
    const on = legacyOnsets(j.run).map((x) => `${x.kind}@${(x.atMs / 1000).toFixed(1)}s`);
    console.log(`  ${j.scene.name.padEnd(16)} expect ${j.scene.expect.padEnd(8)} ${on.join(' ') || '-'}`);
  }
  const t1 = performance.now();
  const rp = replay(normals, hours);
  console.log(
    `\nreplay: ${rp.mediaH.toFixed(2)} h of normal scenes (${normals.length} recordings looped, ${rp.samples} samples) in ${((performance.now() - t1) / 1000).toFixed(1)} s: ${rp.findings.length} findings${rp.findings.length ? ` ${JSON.stringify(rp.findings.slice(0, 3))}` : ''}`,
  );
  if (judged.some((j) => !j.ok) || rp.findings.length) process.exitCode = 1;
}

if (process.argv[1]?.endsWith('obstruction-eval.js')) void main();
