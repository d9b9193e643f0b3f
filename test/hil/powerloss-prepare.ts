/**
 * Last act of the HIL `main` boot: starts the agent on the ext4 data disk (/dev/vda), starts a
 * shift with the button, waits until segments are being sealed, then tells the host (through the
 * results share) to cut the VM's power. The host kills qemu: no clean shutdown, no sync, the
 * guest's dirty page cache is lost. The `recover` boot checks what the agent makes of it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/agent.js';
import { LINE, RESULTS, startAgentVm, pressLine, setMax17048, setPull, sleep } from './lib.js';

const data = process.env.HIL_DATA;
if (!data) throw new Error('HIL_DATA (the ext4 data disk) is not mounted');
const dataDir = join(data, 'bodycam');
for (const l of [LINE.shift, LINE.privacy, LINE.dock]) setPull(l, false);
setMax17048({ percent: 70, voltageV: 3.88, ratePctH: -10.4 });
const p = await runCli(['provision', '--data-dir', dataDir]);
if (p.code !== 0) throw new Error(`provision failed: ${p.stderr}`);
const a = await startAgentVm({ board: 'qemu-hil-sysfs', dataDir, config: { power: { intervalS: 1 }, policy: { encoderStallS: 20 } } });
await pressLine(LINE.shift, 2600);
const s = await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 3, 90_000, 'a shift with sealed segments');
writeFileSync(join(RESULTS, 'powerloss-shift.json'), JSON.stringify({ shiftId: s.shiftId, segmentsBefore: s.segments, at: new Date().toISOString() }));
// Mid-segment, and with segments and journal records newer than ext4's 5 s commit interval.
await sleep(1300);
writeFileSync(join(RESULTS, 'powerloss-ready'), 'cut\n');
console.log(`HIL: shift ${s.shiftId} recording with ${s.segments} segments: cutting power now`);
// The host kills the VM; if it does not, this boot times out and the stage fails.
await sleep(600_000);
