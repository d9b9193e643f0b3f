/**
 * Helpers for the HIL update sequence (test/hil/upd1..upd4, run.sh `update_boots`): the agent runs
 * on the data disk, with the board config and version of the slot the bootloader booted
 * (/run/bodycam/slot, mounted by guest.sh), against the real `rauc service` in the guest. The
 * agent's reboot command only leaves `reboot-requested` in the results share: guest.sh ends the
 * boot after the tests (as systemd stops services before a reboot), and run.sh boots the slot
 * the boot environment names.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonIfExists } from '../../agent/lib/atomic.js';
import type { JournalRecord } from '../../agent/evidence/journal.js';
import { readJournal, runCli, type AgentProc } from '../helpers/agent.js';
import { LINE, RESULTS, setMax17048, setPull, startAgentVm, waitFor } from './lib.js';

export const RAUC_DIR = process.env.HIL_RAUC_DIR ?? '/nonexistent';
export const SLOT = process.env.HIL_SLOT ?? '?';
export const DATA = join(process.env.HIL_DATA ?? '/tmp', 'bodycam');
export const BUNDLES = join(RAUC_DIR, 'bundles');
export const SLOT_ROOT = '/run/bodycam/slot';
export const REBOOT_MARK = join(RESULTS, 'reboot-requested');
const RAUC = ['rauc', `--conf=${RAUC_DIR}/system.conf`, '--mount=/run/rauc/mnt'];
export const updateOnly = process.env.HIL_RAUC_DIR ? false : 'needs the HIL update sequence (make hil)';

/** The booted slot image's version (its /etc/os-release), as a Yocto image carries it. */
export function slotVersion(): string {
  const m = /^VERSION_ID=(.*)$/m.exec(readFileSync(join(SLOT_ROOT, 'etc/os-release'), 'utf8'));
  return m ? m[1]!.replace(/"/g, '') : '0.0.0';
}

export interface RaucJson {
  booted: string;
  boot_primary?: string;
  slots: Array<Record<string, { bootname?: string; boot_status?: string; state?: string }>>;
}
export function raucStatus(): RaucJson {
  return JSON.parse(execFileSync(RAUC[0]!, [...RAUC.slice(1), 'status', '--detailed', '--output-format=json'], { encoding: 'utf8', env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/run/dbus/system_bus_socket' } })) as RaucJson;
}
export function bootStatus(r: RaucJson, bootname: string): string | undefined {
  for (const e of r.slots) for (const s of Object.values(e)) if (s.bootname === bootname) return s.boot_status;
  return undefined;
}

export function deviceJournal(): JournalRecord[] {
  return readJournal(join(DATA, 'device-journal.jsonl'));
}
export const updateRecords = (): JournalRecord[] => deviceJournal().filter((r) => r.type.startsWith('update_'));

/** The camera in its dock, charging at 80 %: every condition of the install gate holds but the shift. */
export function dockedAndCharging(): void {
  for (const l of [LINE.shift, LINE.privacy]) setPull(l, false);
  setMax17048({ percent: 80, voltageV: 3.95, ratePctH: 20 });
  setPull(LINE.dock, true);
}

export async function startUpdateAgent(): Promise<AgentProc> {
  mkdirSync(DATA, { recursive: true });
  if (!existsSync(join(DATA, 'identity'))) {
    const p = await runCli(['provision', '--data-dir', DATA]);
    if (p.code !== 0) throw new Error(`provision: ${p.stderr}`);
  }
  dockedAndCharging();
  // The first ffmpeg of a boot loads its libraries over 9p: under TCG on a loaded host that took
  // longer than the agent's 10 s pre-flight probe. Loaded once here, the probe measures the agent.
  execFileSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore', timeout: 180_000 });
  return startAgentVm({
    board: join(SLOT_ROOT, 'etc/bodycam/board.json'),
    dataDir: DATA,
    config: {
      power: { intervalS: 1 },
      policy: { encoderStallS: 20, updateMinBatteryPct: 50 },
      update: {
        raucCommand: RAUC,
        dbusSystemBusAddress: 'unix:path=/run/dbus/system_bus_socket',
        rebootCommand: ['/bin/sh', '-c', `date -u +%FT%T.%3NZ > ${REBOOT_MARK}`],
      },
    },
    env: { BODYCAM_LOG: 'info', BODYCAM_FIRMWARE_VERSION: slotVersion() },
  });
}

/** Waits for the agent's reboot request, then stops it the way systemd does before a reboot. */
export async function rebootRequested(agent: AgentProc, timeoutMs: number): Promise<void> {
  await waitFor(() => existsSync(REBOOT_MARK), timeoutMs, `the agent's reboot request\n${agent.logs().slice(-3000)}`);
  await agent.stop();
}

export function updateState(): Record<string, unknown> {
  return (readJsonIfExists(join(DATA, 'update', 'state.json')) ?? {}) as Record<string, unknown>;
}
