/**
 * A receiver that goes quiet while gpsd stays up: a real gpsd (Debian's gpsd) reads NMEA from a
 * UDP source that the test feeds at 1 Hz, then stops feeding. gpsd keeps the client's connection
 * and sends nothing more — the last TPV would stand for ever. The gpsd backend must report the fix
 * as 'none' (receiver 'silent') within its fix age limit, with the link still up, and a 3d fix again
 * when the receiver talks again.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { GpsdGnss } from '../../hal/gnss/gpsd.js';
import type { GnssFix } from '../../hal/gnss/types.js';
import { freePort } from '../helpers/net.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
const udp = createSocket('udp4');
after(() => {
  for (const c of children) c.kill('SIGKILL');
  udp.close();
});

const nmea = (body: string): string => `$${body}*${[...body].reduce((c, ch) => c ^ ch.charCodeAt(0), 0).toString(16).toUpperCase().padStart(2, '0')}\r\n`;

/** One fix (GGA + RMC) at the current UTC second, 3D (altitude given). */
function sentences(): string {
  const d = new Date();
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const hms = `${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}.00`;
  const dmy = `${p2(d.getUTCDate())}${p2(d.getUTCMonth() + 1)}${String(d.getUTCFullYear()).slice(2)}`;
  return nmea(`GPGGA,${hms},5231.2000,N,01324.3000,E,1,08,0.9,35.0,M,40.0,M,,`) + nmea(`GPRMC,${hms},A,5231.2000,N,01324.3000,E,0.5,0.0,${dmy},,,A`);
}

test('a receiver silent while gpsd stays up: the fix becomes none (receiver silent) within the age limit, and 3d again when it talks', async () => {
  const gpsdPort = await freePort();
  const nmeaPort = await freePort();
  const gpsd = spawn('gpsd', ['-N', '-n', '-S', String(gpsdPort), `udp://127.0.0.1:${nmeaPort}`], { stdio: 'ignore' });
  children.push(gpsd);
  const maxFixAgeMs = 2500;
  const gnss = new GpsdGnss({ port: gpsdPort, maxFixAgeMs, backoff: { initialMs: 100, maxMs: 300 } });
  const fixes: Array<{ at: number; fix: GnssFix }> = [];
  gnss.on('fix', (fix) => fixes.push({ at: Date.now(), fix }));
  await gnss.start();
  try {
    let feeding = true;
    const feed = (async () => {
      for (;;) {
        if (feeding) udp.send(sentences(), nmeaPort, '127.0.0.1');
        await sleep(1000);
        if (!feeding && fixes.some((f) => f.fix.mode === 'none')) return;
      }
    })();
    const until = Date.now() + 20_000;
    while (!fixes.some((f) => f.fix.mode === '3d') && Date.now() < until) await sleep(100);
    assert.ok(fixes.some((f) => f.fix.mode === '3d'), `a 3d fix through gpsd: ${JSON.stringify(fixes.map((f) => f.fix.mode))}`);
    await sleep(2000);

    // The receiver goes quiet.
    feeding = false;
    const quietAt = Date.now();
    await feed;
    const none = fixes.find((f) => f.at >= quietAt && f.fix.mode === 'none');
    assert.ok(none, 'a none fix after the receiver went quiet');
    // The last report came at most 1 s before the feed stopped; the age limit runs from it.
    assert.ok(none.at - quietAt <= maxFixAgeMs + 1000, `none after ${none.at - quietAt} ms (limit ${maxFixAgeMs} ms + 1 s cadence)`);
    const st = gnss.state();
    assert.equal(st.connected, true, 'gpsd itself is still connected');
    assert.equal(st.receiver, 'silent');
    assert.equal(st.fix?.mode, 'none');
    assert.equal(st.lastPosition?.mode, '3d', 'the last position stays known as the last one, not the current one');

    // It talks again.
    const back = Date.now();
    udp.send(sentences(), nmeaPort, '127.0.0.1');
    const until2 = Date.now() + 10_000;
    while (!fixes.some((f) => f.at >= back && f.fix.mode === '3d') && Date.now() < until2) {
      await sleep(500);
      udp.send(sentences(), nmeaPort, '127.0.0.1');
    }
    assert.equal(gnss.state().fix?.mode, '3d');
    assert.equal(gnss.state().receiver, undefined);
  } finally {
    await gnss.stop();
  }
});
