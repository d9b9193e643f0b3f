/**
 * Child process for outbox-crash.test.ts: queues records as fast as it can and prints the journal
 * seq of every record once `flush()` says it is durable. The test SIGKILLs it at a random moment.
 */
import { Outbox } from '../../agent/telemetry/outbox.js';

const dir = process.argv[2]!;
const start = Number(process.argv[3] ?? 0);
const ob = new Outbox({ dir, deviceId: 'cam-k', bootId: 'b', maxBytes: 64 * 1024 * 1024, fileBytes: 16 * 1024 });
ob.open();
let n = start;
for (;;) {
  const batch = 1 + (n % 7);
  for (let i = 0; i < batch; i++, n++) {
    const rec = { seq: n, type: 'gesture', at: new Date().toISOString(), prev: '0'.repeat(64), pad: 'x'.repeat(n % 300) };
    ob.add('s', rec, JSON.stringify(rec));
  }
  await ob.flush();
  // Ack a prefix now and then, as PUBACKs would: files get deleted while writing goes on.
  if (n % 5 === 0) for (let s = ob.firstUnacked; s < ob.firstUnacked + 3 && s <= ob.lastSeq; s++) ob.ack(s);
  process.stdout.write(`${n - 1} ${ob.lastSeq} ${ob.firstUnacked}\n`);
}
