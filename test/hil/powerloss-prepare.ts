/**
 * Last act of the HIL `main` boot: provisions the device on the ext4 data disk (/dev/vda), starts
 * the agent and shift A (plain) with the button, waits until a segment is sealed, then arms power
 * cut 1 (test/hil/powercut.ts): the host kills qemu a random 3–12 s later. No clean shutdown, no
 * sync: the guest's dirty page cache is really lost. Boot `recover1` checks what the agent makes
 * of it.
 */
import { runCli } from '../helpers/agent.js';
import { LINE, pressLine } from './lib.js';
import { armCut, boardAtRest, dataDir, startShiftAgent } from './powercut.js';

boardAtRest();
const p = await runCli(['provision', '--data-dir', dataDir()]);
if (p.code !== 0) throw new Error(`provision failed: ${p.stderr}`);
const a = await startShiftAgent();
await pressLine(LINE.shift, 2600);
// At least one sealed segment: the cut then falls after journaled media, whose end the
// power_loss gap must start from.
await a.waitFor((x) => x.state === 'RECORDING' && x.segments >= 1, 90_000, 'shift A recording with a sealed segment');
await armCut(a, 1, false);
