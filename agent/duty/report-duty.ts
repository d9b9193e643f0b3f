/**
 * The duty of a shift as the verifier reports it (`bodycam verify`, `--json`, `--html`): what
 * started and ended the shift, who wore the camera, the duty window and the battery forecast —
 * read from the journal's own records (`shift_start`, `shift_end`, `duty`). Pure. A journal from
 * before duty triggers existed has no `trigger`: it was started by the button.
 */
import type { DutySummary } from '../evidence/verify/report.js';

type Rec = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function dutySummary(recs: readonly Rec[]): DutySummary {
  const start = recs.find((r) => r.type === 'shift_start');
  const end = recs.find((r) => r.type === 'shift_end');
  const w = start?.wearer as Rec | null | undefined;
  const win = start?.duty_window as Rec | undefined;
  const fc = recs.find((r) => r.type === 'duty' && r.what === 'battery_forecast');
  return {
    startTrigger: start ? (str(start.trigger) ?? 'button') : null,
    endReason: end ? str(end.reason) : null,
    wearer: w && str(w.id) && str(w.name) ? { id: str(w.id)!, name: str(w.name)! } : null,
    dutyWindow: win && str(win.start) && str(win.end) ? { start: str(win.start)!, end: str(win.end)! } : null,
    batteryForecast: fc ? { lasts: typeof fc.lasts === 'boolean' ? fc.lasts : null, runtimeS: num(fc.runtime_s), expectedS: num(fc.expected_s) ?? 0 } : null,
    scheduleOverrun: recs.some((r) => r.type === 'duty' && r.what === 'schedule_overrun'),
    ignoredTriggers: recs.filter((r) => r.type === 'duty' && r.what === 'trigger_ignored').length,
  };
}

/** One line for people: "started by dock, ended by central; wearer W-17 (Ana Ilves)". */
export function dutyLine(d: DutySummary): string {
  const who = d.wearer ? `wearer ${d.wearer.id} (${d.wearer.name})` : 'wearer UNASSIGNED';
  const bat = d.batteryForecast?.lasts === false ? '; battery forecast: would not last the duty' : '';
  const win = d.dutyWindow ? `; duty window ${d.dutyWindow.start} → ${d.dutyWindow.end}${d.scheduleOverrun ? ' (overrun)' : ''}` : '';
  return `started by ${d.startTrigger ?? '?'}, ended by ${d.endReason ?? '(not ended)'}; ${who}${win}${bat}`;
}
