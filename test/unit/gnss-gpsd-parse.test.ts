/**
 * gpsd's JSON reports as the gpsd backend reads them. The TPV lines are captured from gpsd 3.22
 * (Debian 12) fed test/fixtures/walk.nmea by gpsfake; the SKY count form is gpsd ≥ 3.23's.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, parseGpsdLine, type SkyReport, type TpvReport } from '../../hal/gnss/gpsd-parse.js';

const TPV_3D =
  '{"class":"TPV","device":"/dev/pts/1","mode":3,"time":"2026-03-14T12:00:07.000Z","ept":0.005,"lat":52.520095000,"lon":13.405000000,"altHAE":75.0000,"altMSL":35.0000,"alt":35.0000,"epv":27.600,"track":0.0000,"magtrack":4.0590,"magvar":4.1,"speed":1.502,"geoidSep":40.961,"eph":17.100,"sep":28.500}';
const TPV_NOFIX = '{"class":"TPV","device":"/dev/pts/1","mode":1,"time":"2026-03-14T12:00:17.000Z","ept":0.005}';
const TPV_3D_NO_POSITION = '{"class":"TPV","device":"/dev/pts/1","mode":3,"epv":27.600,"eph":17.100,"sep":28.500}';

describe('gpsd JSON parser', () => {
  test('a 3D TPV gives lat/lon, MSL altitude, eph as accuracy, speed and the receiver time', () => {
    const r = parseGpsdLine(TPV_3D) as TpvReport;
    assert.deepEqual(r, { class: 'TPV', mode: '3d', lat: 52.520095, lon: 13.405, altM: 35, accuracyM: 17.1, speedMps: 1.502, time: '2026-03-14T12:00:07.000Z' });
  });

  test('a mode-1 TPV is no fix: no position at all, the time kept', () => {
    assert.deepEqual(parseGpsdLine(TPV_NOFIX), { class: 'TPV', mode: 'none', lat: null, lon: null, altM: null, accuracyM: null, speedMps: null, time: '2026-03-14T12:00:17.000Z' });
  });

  test('a mode-3 TPV without lat/lon (gpsd assembling a fix) is no report, neither a position nor a loss', () => {
    assert.equal(parseGpsdLine(TPV_3D_NO_POSITION), undefined);
  });

  test('a 2D TPV without eph takes max(epx, epy) and has no altitude', () => {
    const r = parseGpsdLine('{"class":"TPV","mode":2,"lat":1.5,"lon":-2.25,"epx":3.2,"epy":4.8,"alt":12}') as TpvReport;
    assert.equal(r.mode, '2d');
    assert.equal(r.accuracyM, 4.8);
    assert.equal(r.altM, null);
    assert.equal(r.time, null);
  });

  test('out-of-range coordinates are not a position', () => {
    assert.equal(parseGpsdLine('{"class":"TPV","mode":3,"lat":91,"lon":0}'), undefined);
  });

  test('SKY: satellites used and visible, from the list or from gpsd ≥ 3.23 counts', () => {
    const list = parseGpsdLine('{"class":"SKY","satellites":[{"PRN":1,"used":true},{"PRN":3,"used":false},{"PRN":6,"used":true}]}') as SkyReport;
    assert.deepEqual(list.satellites, { used: 2, visible: 3 });
    const counts = parseGpsdLine('{"class":"SKY","nSat":12,"uSat":8}') as SkyReport;
    assert.deepEqual(counts.satellites, { used: 8, visible: 12 });
    assert.equal(parseGpsdLine('{"class":"SKY"}'), undefined);
  });

  test('DEVICES counts receivers; other classes, non-objects and broken JSON are ignored', () => {
    assert.deepEqual(parseGpsdLine('{"class":"DEVICES","devices":[{"path":"/dev/pts/1"}]}'), { class: 'DEVICES', count: 1 });
    for (const l of ['{"class":"VERSION","release":"3.22"}', '{"class":"WATCH","enable":true}', '[1,2]', 'null', '{"class":"TPV","mode":3,"lat":52.5', '']) assert.equal(parseGpsdLine(l), undefined, l);
  });

  test('the line splitter joins TCP chunks into whole lines and keeps the unfinished tail', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.push(':2}\r\n\n{"c":3}\n'), ['{"b":2}', '{"c":3}']);
    assert.deepEqual(s.push('x'.repeat(70_000)), []);
    assert.deepEqual(s.push('\n{"d":4}\n'), ['{"d":4}'], 'an endless line is dropped, not grown without bound');
  });
});
