/**
 * The extension host: loads the extensions (agent/extensions.ts, in that order; stopped in
 * reverse), gives them their context and the services they offer each other. An extension that
 * fails to start raises a fault and the agent goes on: recording never depends on one.
 */
import { describe } from './lib/errors.js';
import type { AgentContext, Extension, Services } from './extension.js';
import { EXTENSIONS } from './extensions.js';
import type { Policy } from './config/policy.js';
import type { ShiftEvent } from './shift/machine.js';
import type { StatusSnapshot } from './status.js';
import type { ControlServer } from './control/server.js';
import type { Core } from './parts.js';

export interface ExtensionHostDeps {
  readonly control: ControlServer;
  readonly status: () => StatusSnapshot;
  readonly setPolicy: (p: Policy, source: string) => void;
  readonly dispatch: (e: ShiftEvent) => Promise<void>;
}

export class ExtensionHost {
  readonly extensions: Extension[] = [];
  private readonly serviceMap = new Map<string, unknown>();

  constructor(
    private readonly c: Core,
    private readonly d: ExtensionHostDeps,
  ) {}

  async start(): Promise<void> {
    const ctx = this.context();
    for (const entry of EXTENSIONS) {
      let ext: Extension | undefined;
      try {
        if (!entry.wanted(this.c.config, this.c.board)) continue;
        ext = (await entry.load())(this.c.config, this.c.board);
        if (!ext) continue;
        await ext.start(ctx);
        this.extensions.push(ext);
        this.c.log.info('extension started', { ext: ext.name });
      } catch (e) {
        this.c.faults.set(`ext_${ext?.name ?? entry.name}`, describe(e));
        this.c.log.error('extension failed to start; recording goes on', { ext: ext?.name ?? entry.name, err: e });
      }
    }
  }

  /** After the shift's last records: telemetry still delivers them before it goes OFFLINE. */
  async stop(): Promise<void> {
    for (const ext of [...this.extensions].reverse()) {
      try {
        await ext.stop();
      } catch (e) {
        this.c.log.error('extension stop failed', { ext: ext.name, err: e });
      }
    }
  }

  /** Whether the offload extension is uploading now (the off-duty LED shows it). */
  offloading(): boolean {
    return this.extensions.find((e) => e.name === 'offload')?.status?.()?.active === true;
  }

  /** READY / STOPPING to systemd through the watchdog extension's notifier (none outside systemd). */
  notifySystemd(msg: string): void {
    if (!process.env.NOTIFY_SOCKET) return;
    const notify = this.serviceMap.get('systemd-notify') as ((m: string) => void) | undefined;
    if (notify) notify(msg);
  }

  /** Extensions that read power report here, so status and heartbeats carry it. */
  reportPower(battery: StatusSnapshot['battery'], temperatureC: number | null): void {
    this.c.power.battery = battery;
    this.c.power.temperatureC = temperatureC;
  }

  private context(): AgentContext {
    const { parts, evidence } = this.c;
    const services: Services = {
      provide: (name, impl) => void this.serviceMap.set(name, impl),
      get: <T>(name: string) => this.serviceMap.get(name) as T | undefined,
    };
    services.provide('feedback', { identify: (s: number) => parts.feedback?.identify(s), liveView: (on: boolean) => parts.feedback?.liveView(on) });
    if (parts.duty) services.provide('duty', parts.duty);
    if (parts.update) services.provide('update', parts.update);
    services.provide('power', { report: (b: StatusSnapshot['battery'], t: number | null) => this.reportPower(b, t) });
    return {
      dataDir: this.c.dataDir,
      deviceId: this.c.deviceId,
      board: this.c.board,
      config: this.c.config,
      hal: parts.hal!,
      log: this.c.log,
      bus: this.c.bus,
      services,
      policy: () => this.c.policy(),
      setPolicy: (p, source) => this.d.setPolicy(p, source),
      status: () => this.d.status(),
      journal: (type, fields) => this.c.journal(type, fields),
      setFault: (name, detail) => this.c.faults.set(name, detail),
      signDeviceJournal: (why) => evidence.signDevice(why),
      shiftDir: (id) => evidence.shiftDir(id),
      forceEndShift: (reason) => void this.d.dispatch({ type: 'force_end', reason }),
      setDegrade: (source, level) => parts.pipeline?.setDegrade(source, level),
      registerControlOp: (op, h) => this.d.control.register(op, h),
    };
  }
}
