/**
 * The update room: firmware updates through RAUC, A/B slots, never at the cost of a shift.
 *
 *   request  → (download + SHA-256 against the command) → version rule → RAUC's signature check
 *   waiting  → installs only when installGate says so (off duty, docked, charging, battery ≥ the
 *              policy floor); re-checked on every status change, journaled once per reason
 *   install  → `rauc install` writes the other slot and makes it the bootloader's primary
 *   reboot   → only off duty: a shift begun during the install holds the reboot until its end
 *   trial    → on the new slot, before the devices open: the self-test; after READY: a test
 *              segment from the camera, sealed (fsync + SHA-256, journaled). All good → mark-good;
 *              anything failed → mark-bad and reboot: the bootloader takes the old slot
 *   fell back → booted the old slot with an update pending: rolled back, journaled, reported
 *
 * Every step goes to the device journal (not a shift's: an update is the device's business, and a
 * record about it must not sit in a wearer's evidence). Decisions are pure (decide.ts); this file
 * is the shell that runs RAUC, the self-test, the reboot and the persistence (state.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { UpdateError, describe, isUpdateError } from '../lib/errors.js';
import { fsyncFile } from '../lib/atomic.js';
import type { Logger } from '../lib/log.js';
import type { Fields } from '../evidence/journal.js';
import type { Core } from '../parts.js';
import type { StatusSnapshot } from '../status.js';
import { FIRMWARE_VERSION } from '../version.js';
import { captureClip, runSelftest } from '../cli/commands/selftest.js';
import { checkVersion, installGate, trialVerdict, type WaitReason } from './decide.js';
import { RaucClient, type RaucStatus } from './rauc.js';
import { UpdateStateStore, type Pending, type Result, type UpdateState } from './state.js';
import { fetchBundle, hashFile } from './bundle-source.js';
import type { UpdateConfig } from './config.js';
import type { UpdatePart, UpdateRequest, UpdateStatus } from './types.js';

export type { UpdateRequest, UpdateService, UpdateStatus } from './types.js';

export class UpdateRoom implements UpdatePart {
  private readonly log: Logger;
  private readonly store: UpdateStateStore;
  private readonly rauc: RaucClient | undefined;
  private state: UpdateState = {};
  private booted: RaucStatus | undefined;
  private selftestOk: boolean | undefined;
  private selftestDetail = '';
  private waitingFor: WaitReason | null = null;
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly onStatus = (s: StatusSnapshot): void => this.kick(s);
  /** The version running now: the booted slot's bundle version when RAUC recorded one, else the image's. */
  private version = FIRMWARE_VERSION;

  constructor(
    private readonly c: Core,
    private readonly config: UpdateConfig | undefined,
    private readonly snapshot: () => StatusSnapshot,
  ) {
    this.log = c.log.child('update');
    this.store = new UpdateStateStore(c.dataDir);
    this.rauc = config ? new RaucClient({ command: config.raucCommand, ...(config.dbusSystemBusAddress ? { env: { DBUS_SYSTEM_BUS_ADDRESS: config.dbusSystemBusAddress } } : {}) }) : undefined;
  }

  /**
   * Before the devices open (the self-test needs them free): reads what the last boot left, asks
   * RAUC which slot booted, and on a trial boot runs the self-test.
   */
  async start(): Promise<void> {
    if (!this.rauc) return;
    this.state = this.store.load();
    try {
      this.booted = await this.rauc.status();
      const mine = this.booted.slots.find((s) => s.bootname === this.booted!.booted);
      if (mine?.bundleVersion) this.version = mine.bundleVersion;
    } catch (e) {
      this.c.faults.set('update', describe(e));
      this.log.error('cannot read RAUC status: updates unavailable this boot', { err: e });
      return;
    }
    const p = this.state.pending;
    if (!p) return;
    if (p.phase === 'waiting' || p.phase === 'installing') {
      // A reboot (or crash) during `rauc install`: RAUC did not finish; the request goes back to waiting.
      if (p.phase === 'installing') this.step('update_install_interrupted', { version: p.version });
      p.phase = 'waiting';
      this.save();
      return;
    }
    const booted = this.booted.booted;
    if (p.bootId === this.c.bootId) {
      // The agent restarted, the camera did not: the reboot is still owed (ready() asks again).
      this.step('update_reboot_owed', { version: p.version, phase: p.phase });
      return;
    }
    const v = trialVerdict({ bootedSlot: booted, installedSlot: p.toSlot ?? '?', selftestOk: undefined, ready: false, testSegmentSealed: undefined });
    if (v.action === 'fell_back' || p.phase === 'rolling_back') {
      const reason = p.failure ?? (v.action === 'fell_back' ? v.reason : 'rolled back');
      this.finish('rolled_back', p.version, reason, { booted_slot: booted, failed_slot: p.toSlot ?? null });
      return;
    }
    // The trial boot of the new slot.
    p.phase = 'trial';
    this.save();
    this.version = p.version;
    this.step('update_trial_started', { version: p.version, slot: booted });
    try {
      const results = await runSelftest(this.c.board, this.c.dataDir);
      const failed = results.filter((r) => !r.ok);
      this.selftestOk = failed.length === 0;
      this.selftestDetail = failed.map((r) => `${r.device}: ${r.detail}`).join('; ');
      this.step('update_selftest', { version: p.version, ok: this.selftestOk, checks: results.length, ...(failed.length ? { failed: failed.map((r) => ({ device: r.device, detail: r.detail })) } : {}) });
    } catch (e) {
      this.selftestOk = false;
      this.selftestDetail = describe(e);
      this.step('update_selftest', { version: p.version, ok: false, error: this.selftestDetail });
    }
  }

  /** After READY: on a trial boot, records the test segment and decides; otherwise resumes a waiting update. */
  async ready(): Promise<void> {
    if (!this.rauc || !this.booted) return;
    this.c.bus.on('status', this.onStatus);
    // Dock and battery readings arrive without a status event: look again now and then.
    this.timer = setInterval(() => this.kick(this.snapshot()), 5000);
    const p = this.state.pending;
    if (p?.phase === 'trial') await this.judgeTrial(p);
    else this.kick(this.snapshot());
  }

  drain(): void {
    clearInterval(this.timer);
    this.c.bus.off('status', this.onStatus);
  }

  async request(r: UpdateRequest): Promise<{ accepted: boolean; reason: string }> {
    if (!this.rauc || !this.booted || !this.config) throw new UpdateError('status', this.rauc ? 'RAUC status unreadable this boot: no update possible' : 'this image has no RAUC (config section update absent)');
    const cur = this.state.pending;
    if (cur && cur.phase !== 'waiting') throw new UpdateError('busy', `an update to ${cur.version} is ${cur.phase}`);
    if (this.busy) throw new UpdateError('busy', 'an update request is being prepared');
    this.busy = true;
    const bundlePath = join(this.store.dir, 'bundle.raucb');
    try {
      mkdirSync(this.store.dir, { recursive: true });
      let sha256: string;
      let path: string;
      if (r.kind === 'url') {
        this.step('update_download', { url: r.url, sha256: r.sha256, version: r.version, source: r.source });
        await fetchBundle(r.url, r.sha256, bundlePath, this.config.maxBundleBytes);
        sha256 = r.sha256;
        path = bundlePath;
      } else {
        path = resolve(r.path);
        if (!existsSync(path) || !statSync(path).isFile()) throw new UpdateError('download', `no bundle file ${path}`);
        sha256 = await hashFile(path);
      }
      // RAUC checks the signature against the image's keyring before it tells the version.
      const info = await this.rauc.info(path);
      if (r.kind === 'url' && info.version !== r.version) throw new UpdateError('version', `the bundle says version ${info.version}, the command ${r.version}`);
      const vv = checkVersion(this.version, info.version, r.allowDowngrade);
      if (!vv.ok) throw new UpdateError('version', vv.reason);
      this.state.pending = { version: info.version, sha256, bundlePath: path, source: r.source, allowDowngrade: r.allowDowngrade, requestedAt: new Date().toISOString(), phase: 'waiting', fromSlot: this.booted.booted };
      this.waitingFor = null;
      this.save();
      this.step('update_requested', { version: info.version, from_version: this.version, kind: vv.kind, sha256, bundle_bytes: statSync(path).size, source: r.source, compatible: info.compatible });
    } catch (e) {
      const reason = describe(e);
      if (r.kind === 'url') rmSync(bundlePath, { force: true });
      this.step('update_refused', { source: r.source, step: isUpdateError(e) ? e.step : 'unknown', reason });
      this.state.last = { version: r.kind === 'url' ? r.version : '', result: 'refused', at: new Date().toISOString(), reason };
      this.save();
      this.c.statusChanged();
      return { accepted: false, reason };
    } finally {
      this.busy = false;
    }
    this.c.statusChanged();
    setImmediate(() => this.kick(this.snapshot()));
    return { accepted: true, reason: `update to ${this.state.pending.version} accepted; installs when off duty, docked and charging` };
  }

  status(): UpdateStatus {
    const p = this.state.pending;
    return {
      bootedSlot: this.booted?.booted ?? null,
      version: this.version,
      phase: !this.rauc ? 'unavailable' : (p?.phase ?? 'idle'),
      waitingFor: p?.phase === 'waiting' || p?.phase === 'rebooting' ? this.waitingFor : null,
      pendingVersion: p?.version ?? null,
      last: this.state.last ?? null,
    };
  }

  /** Looks whether a waiting install, or a held reboot, may go now. */
  private kick(s: StatusSnapshot): void {
    const p = this.state.pending;
    if (!p || this.busy || this.c.parts.hal === undefined) return;
    if (p.phase !== 'waiting' && p.phase !== 'rebooting' && p.phase !== 'rolling_back') return;
    const gate = installGate({ shiftState: s.state, docked: s.docked, battery: s.battery, minBatteryPct: this.c.policy().updateMinBatteryPct });
    // A reboot (after the install, or to roll back) waits for the shift only: the slot is written.
    const holdReboot = !gate.go && gate.wait === 'shift_active';
    if (p.phase !== 'waiting') {
      if (holdReboot) return this.noteWait('shift_active', gate.go ? '' : gate.detail, p);
      void this.reboot(p);
      return;
    }
    if (!gate.go) return this.noteWait(gate.wait, gate.detail, p);
    void this.install(p);
  }

  private noteWait(reason: WaitReason, detail: string, p: Pending): void {
    if (this.waitingFor === reason) return;
    this.waitingFor = reason;
    this.step('update_waiting', { version: p.version, phase: p.phase, reason, detail });
    this.c.statusChanged();
  }

  private async install(p: Pending): Promise<void> {
    this.busy = true;
    this.waitingFor = null;
    p.phase = 'installing';
    this.save();
    this.step('update_install_started', { version: p.version, from_slot: this.booted?.booted ?? null });
    this.c.statusChanged();
    try {
      const said = await this.rauc!.install(p.bundlePath);
      const after = await this.rauc!.status();
      const primary = after.slots.find((s) => s.name === after.bootPrimary);
      p.toSlot = primary?.bootname;
      if (!p.toSlot || p.toSlot === this.booted?.booted) throw new UpdateError('install', `after the install the bootloader's primary is ${after.bootPrimary ?? 'unknown'}, not the other slot`);
      p.phase = 'rebooting';
      p.bootId = this.c.bootId;
      this.save();
      this.step('update_installed', { version: p.version, slot: p.toSlot, rauc: said });
    } catch (e) {
      this.busy = false;
      this.finish('failed', p.version, describe(e), { step: isUpdateError(e) ? e.step : 'install' });
      return;
    }
    this.busy = false;
    this.kick(this.snapshot());
  }

  private async reboot(p: Pending): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.step('update_reboot', { version: p.version, phase: p.phase, to_slot: p.phase === 'rolling_back' ? (p.fromSlot ?? null) : (p.toSlot ?? null), command: this.config!.rebootCommand });
    this.c.evidence.signDevice('update_reboot');
    const [cmd, ...args] = this.config!.rebootCommand;
    const child = spawn(cmd!, args, { stdio: 'ignore' });
    child.on('error', (e) => {
      this.busy = false;
      this.c.faults.set('update', `reboot command failed: ${e.message}`);
      this.step('update_reboot_failed', { error: e.message });
    });
    child.on('exit', (code) => {
      if (code !== 0) {
        this.busy = false;
        this.c.faults.set('update', `reboot command exited ${code}`);
        this.step('update_reboot_failed', { exit: code });
      }
    });
  }

  private async judgeTrial(p: Pending): Promise<void> {
    let sealed: boolean | undefined;
    if (this.selftestOk) {
      try {
        const seg = await this.testSegment(p.version);
        sealed = true;
        this.step('update_test_segment', seg);
      } catch (e) {
        sealed = false;
        this.step('update_test_segment', { version: p.version, ok: false, error: describe(e) });
      }
    }
    const v = trialVerdict({ bootedSlot: this.booted!.booted, installedSlot: p.toSlot ?? '?', selftestOk: this.selftestOk, ready: true, testSegmentSealed: sealed });
    if (v.action === 'mark_good') {
      try {
        const said = await this.rauc!.mark('good');
        this.finish('good', p.version, undefined, { slot: this.booted!.booted, rauc: said });
      } catch (e) {
        this.c.faults.set('update', describe(e));
        this.step('update_mark_failed', { how: 'good', error: describe(e) });
      }
      return;
    }
    if (v.action !== 'mark_bad') return;
    p.failure = `${v.reason}${this.selftestDetail ? ` (${this.selftestDetail})` : ''}`;
    try {
      const said = await this.rauc!.mark('bad');
      this.step('update_marked_bad', { version: p.version, slot: this.booted!.booted, reason: p.failure, rauc: said });
    } catch (e) {
      // Not marked: the bootloader's attempt counter still takes the old slot after its tries.
      this.step('update_mark_failed', { how: 'bad', error: describe(e) });
    }
    p.phase = 'rolling_back';
    p.bootId = this.c.bootId;
    this.save();
    this.kick(this.snapshot());
  }

  /** ~1 s from the board's camera through its encoder, decoded back, fsynced and hashed. */
  private async testSegment(version: string): Promise<Fields> {
    const dir = join(this.store.dir, 'trial');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const detail = await captureClip(this.c.board, this.c.parts.hal!, dir);
    const file = join(dir, 'selftest.ts');
    fsyncFile(file);
    const data = readFileSync(file);
    return { version, ok: true, file: 'update/trial/selftest.ts', bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), detail };
  }

  private finish(result: Result, version: string, reason: string | undefined, fields: Fields): void {
    this.state = { last: { version, result, at: new Date().toISOString(), ...(reason ? { reason } : {}) } };
    this.save();
    if (result === 'good') this.c.faults.clear('update');
    this.step(`update_${result}`, { version, ...(reason ? { reason } : {}), ...fields });
    this.c.statusChanged();
  }

  private step(type: string, fields: Fields): void {
    this.log.info(type, fields);
    try {
      this.c.evidence.deviceJournal.append(type, fields);
    } catch (e) {
      this.log.error('cannot journal an update step', { type, err: e });
    }
  }

  private save(): void {
    this.store.save(this.state);
  }
}
