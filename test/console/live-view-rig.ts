/**
 * Everything a live view needs, real, for the console test (test/console/live-view.test.ts) and the
 * live-view benchmark (test/bench/live-view.ts): mosquitto with the shipped mTLS config, a sim
 * camera (light board, its live tap configured), Debian's Janus, `bodycam central console` with
 * the supervisor ana and the viewer vic, Chromium, and central's own client that sees every
 * command on the camera's cmd topic and every result.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { runCli, startAgent, tempDataDir, cleanup, type AgentProc } from '../helpers/agent.js';
import { startMosquitto, freePort, type Broker } from '../helpers/mosquitto.js';
import { startJanus, type Janus } from '../helpers/janus.js';
import { freeUdpPort } from '../helpers/net.js';
import { consoleAccounts, consoleConfig, launchChromium, startConsole, type ConsoleProc } from './harness.js';
import { agentConfig, centralKeys, lightBoard, type CentralKeys } from '../mqtt/fixtures.js';
import { pb } from '../../agent/telemetry/proto.js';

export interface CommandResultSeen { accepted: boolean; refusal: number; reason: string; payloadSha256: string }

export interface LiveViewRig {
  readonly cam: string;
  readonly dir: string;
  readonly broker: Broker;
  readonly keys: CentralKeys;
  /** Replaced when a test restarts the gateway. */
  janus: Janus;
  readonly console: ConsoleProc;
  readonly browser: Browser;
  readonly agent: AgentProc;
  readonly central: MqttClient;
  /** Signed commands published on the camera's cmd topic, and the camera's results, as they came. */
  readonly cmds: Buffer[];
  readonly results: CommandResultSeen[];
  stop(): Promise<void>;
}

export async function startLiveViewRig(o: { cam: string; maxS: number }): Promise<LiveViewRig> {
  const dir = tempDataDir('console-live-');
  const broker = await startMosquitto(dir);
  const keys = centralKeys(dir);
  await consoleAccounts(dir, keys.privatePem);
  const cmds: Buffer[] = [];
  const results: CommandResultSeen[] = [];
  const central = await broker.connect('central');
  central.on('message', (topic, payload) => {
    if (topic.endsWith('/cmd')) cmds.push(Buffer.from(payload));
    else results.push(pb.CommandResult.decode(payload));
  });
  await new Promise<void>((resolve, reject) => central.subscribe([`bodycam/v1/${o.cam}/cmd`, `bodycam/v1/${o.cam}/cmd/result`], { qos: 1 }, (e) => (e ? reject(e) : resolve())));
  const dataDir = join(dir, o.cam);
  const prov = await runCli(['provision', '--data-dir', dataDir, '--device-id', o.cam]);
  if (prov.code !== 0) throw new Error(`provision failed: ${prov.stderr}`);
  const config = { ...agentConfig(broker, o.cam, { central: keys, policy: { heartbeatOnDutyS: 1, liveViewMaxS: o.maxS } }), liveView: { tapPort: await freeUdpPort() } };
  const agent = await startAgent({ dataDir, board: lightBoard(dir), config });
  const janus = await startJanus(dir);
  const consoleProc = await startConsole(consoleConfig(dir, broker, 'console', {
    sessionTtlS: 3600, port: await freePort(), loginPerMinute: 60, groups: {},
    liveView: { janusUrl: janus.url, apiSecret: janus.apiSecret, adminKey: janus.adminKey, rtpHost: '127.0.0.1', maxS: o.maxS },
  }));
  const browser = await launchChromium();
  const rig: LiveViewRig = {
    cam: o.cam, dir, broker, keys, janus, console: consoleProc, browser, agent, central, cmds, results,
    async stop() {
      await browser.close();
      await consoleProc.stop();
      await rig.janus.kill();
      await agent.kill('SIGKILL');
      central.end(true);
      await broker.stop();
      cleanup(dir);
    },
  };
  return rig;
}

/** Waits until the page's video shows a decoded picture of the sim scene; resolves its size and colour count. */
export function framePixels(page: Page, timeoutMs: number): Promise<{ w: number; h: number; colours: number } | undefined> {
  // In the page (a string: this file compiles without the DOM library).
  return page.evaluate(`(async () => {
    const v = document.getElementById('live-video');
    const c = document.createElement('canvas');
    const until = Date.now() + ${timeoutMs};
    while (Date.now() < until) {
      if (v.videoWidth > 0 && v.readyState >= 2) {
        c.width = v.videoWidth;
        c.height = v.videoHeight;
        const g = c.getContext('2d');
        g.drawImage(v, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const set = new Set();
        for (let k = 0; k < d.length; k += 4 * 7) set.add(((d[k] >> 3) << 10) | ((d[k + 1] >> 3) << 5) | (d[k + 2] >> 3));
        // testsrc2: many colours; a black or undecoded frame has one or two.
        if (set.size > 40) return { w: c.width, h: c.height, colours: set.size };
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    return undefined;
  })()`);
}

/** Whether the camera's status says a live view is open. */
export const live = (s: { ext: Record<string, Record<string, unknown>> }): boolean => s.ext.liveView?.active === true;
