/**
 * The verifier's pairing of `obstruction` records into intervals (agent/evidence/verify/
 * obstruction.ts): start + end pairs per kind, overlapping kinds, a start left open by a killed
 * agent ending where the restarted agent's start of the same kind begins, totals per kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { obstructionIntervals } from '../../agent/evidence/verify/obstruction.js';
import type { RecLine } from '../../agent/evidence/verify/chain.js';

const T = Date.UTC(2026, 0, 1, 8, 0, 0);
const iso = (s: number): string => new Date(T + s * 1000).toISOString();
let no = 0;
const line = (rec: Record<string, unknown>): RecLine => ({ no: ++no, bytes: 0, hash: '', rec, atMs: undefined }) as unknown as RecLine;

test('pairs per kind, overlapping kinds, an open start cut by the next start of its kind, totals', () => {
  no = 0;
  const recs = [
    line({ type: 'shift_start' }),
    line({ type: 'obstruction', phase: 'start', kind: 'frozen', start: iso(10), measures: { frame_diff: 0 } }),
    line({ type: 'obstruction', phase: 'start', kind: 'silent', start: iso(12), measures: { level_dbfs: -120 } }),
    line({ type: 'obstruction', phase: 'end', kind: 'frozen', start: iso(10), end: iso(20), reason: 'cleared', measures: { frame_diff: 0.01 } }),
    // The agent was killed with `silent` open; the restarted agent finds it again at 40 s.
    line({ type: 'gap', cause: 'agent_restart' }),
    line({ type: 'obstruction', phase: 'start', kind: 'silent', start: iso(40), measures: { level_dbfs: -119 } }),
    line({ type: 'obstruction', phase: 'end', kind: 'silent', start: iso(40), end: iso(45), reason: 'stopped', measures: { level_dbfs: -119 } }),
    line({ type: 'obstruction', phase: 'start', kind: 'covered', start: iso(50), measures: { luma_mean: 1 } }),
  ];
  const { summary, timeline } = obstructionIntervals(recs, T + 60_000);
  assert.deepEqual(
    summary.intervals.map((i) => [i.kind, i.start, i.end, i.durationS, i.open, i.reason, i.line]),
    [
      ['frozen', iso(10), iso(20), 10, false, 'cleared', 2],
      ['silent', iso(12), iso(40), 28, true, 'open', 3],
      ['silent', iso(40), iso(45), 5, false, 'stopped', 6],
      ['covered', iso(50), iso(60), 10, true, 'open', 8],
    ],
  );
  assert.deepEqual(summary.totals, { frozen: { count: 1, seconds: 10 }, silent: { count: 2, seconds: 33 }, covered: { count: 1, seconds: 10 } });
  assert.deepEqual(timeline.map((t) => [t.kind, t.label]), [['obstructed', 'frozen'], ['obstructed', 'silent'], ['obstructed', 'silent'], ['obstructed', 'covered']]);
});
