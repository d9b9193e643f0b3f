/**
 * The GNSS line of `bodycam selftest`: starts the receiver, waits for its reports a few seconds
 * and says fix, satellites and the age of the last fix. An unreachable gpsd fails the check; no
 * fix does not (a selftest indoors sees no sky) but says so.
 */
import type { Gnss } from './types.js';
import { setTimeout as sleep } from 'node:timers/promises';


export async function gnssSelftest(g: Gnss, where: string, waitMs = 5000): Promise<string> {
  await g.start();
  try {
    const until = performance.now() + waitMs;
    // Wait for a position (or, failing that, for the wait to end with whatever was reported).
    while (performance.now() < until && g.state().fix?.mode !== '2d' && g.state().fix?.mode !== '3d') await sleep(100);
    const s = g.state();
    if (!s.connected) throw new Error(`${where}: not reachable (no report in ${waitMs / 1000} s)`);
    const sats = s.satellites ? `${s.satellites.used} satellites used (${s.satellites.visible} visible)` : 'satellites unknown';
    const p = s.lastPosition;
    const age = p ? `last fix ${((performance.now() - p.receivedMono) / 1000).toFixed(1)} s ago` : 'no fix yet';
    const pos = p && p.lat !== null && p.lon !== null ? `, ${p.lat.toFixed(6)}, ${p.lon.toFixed(6)}${p.accuracyM !== null ? ` ±${Math.round(p.accuracyM)} m` : ''}` : '';
    return `${where}: fix ${s.fix?.mode ?? 'none'}, ${sats}, ${age}${pos}`;
  } finally {
    await g.stop();
  }
}
