/**
 * The sealer's gap accounting on a real segment: an interruption that follows another before any
 * media arrived keeps both causes, with bounds that join exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../agent/evidence/journal.js';
import { ShiftSealer } from '../../agent/evidence/sealer.js';
import { PlainStorer } from '../../agent/evidence/storer.js';
import { createLogger } from '../../agent/lib/log.js';
import { readJournal } from '../helpers/agent.js';

test('a power-loss gap is not relabelled by the encoder stall that follows it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealer-'));
  try {
    const journal = new Journal(dir);
    journal.open();
    const sealed: string[] = [];
    const sealer = new ShiftSealer(dir, dir, journal, new PlainStorer(), createLogger('test'), { onSealed: (s) => sealed.push(s.file) });
    const cutAt = Date.now() - 20_000;
    sealer.expectMedia(cutAt, 'power_loss');
    sealer.runStarted(1, 30);
    await sealer.recoverUnlisted(1, 'encoder_stall'); // the first encoder after the reboot stalled
    sealer.runStarted(2, 30);
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30', '-t', '1', '-c:v', 'libx264', '-g', '30', '-f', 'mpegts', join(dir, 'seg-000001.ts')]);
    // The restarted encoder's first second of media closes 1.5 s from now (starts 0.5 s from now).
    await sealer.segmentClosed(2, 'seg-000001.ts', 0, 1, Date.now() + 1500);
    await sealer.drain();
    const recs = readJournal(join(dir, 'journal.jsonl'));
    assert.deepEqual(recs.map((r) => (r.type === 'gap' ? `gap:${r.cause}` : r.type)), ['gap:power_loss', 'gap:encoder_stall', 'segment']);
    const [g1, g2, seg] = recs;
    assert.equal(g1!.start, new Date(cutAt).toISOString());
    assert.equal(g1!.end, g2!.start, 'the two gaps join');
    assert.equal(g2!.end, seg!.start, 'the second gap ends where media starts');
    assert.equal(seg!.frames, 30);
    assert.deepEqual(sealed, ['seg-000001.ts']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
