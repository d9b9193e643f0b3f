/**
 * Against a real mosquitto running the shipped mTLS config: retained presence (ONLINE, OFFLINE on
 * a clean stop, LOST by the Will on SIGKILL), heartbeats that decode with the generated code and
 * with `protoc --decode`, and the broker refusing clients without a valid certificate.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startAgent, tempDataDir, cleanup, REPO, type AgentProc } from '../helpers/agent.js';
import { startMosquitto, type Broker } from '../helpers/mosquitto.js';
import { pb } from '../../agent/telemetry/proto.js';
import { Observer, agentConfig, lightBoard, sleep } from './fixtures.js';

let dir: string;
let broker: Broker;
let board: string;
const agents: AgentProc[] = [];
const observers: Observer[] = [];

before(async () => {
  dir = tempDataDir('mqtt-presence-');
  broker = await startMosquitto(dir);
  board = lightBoard(dir);
});
after(async () => {
  for (const a of agents) await a.kill('SIGKILL');
  for (const o of observers) o.end();
  await broker?.stop();
  for (const a of agents) cleanup(a.dataDir);
  cleanup(dir);
});

/** A fresh subscriber: what a central system sees when it (re)connects. */
async function retainedStatus(deviceId: string) {
  const o = await Observer.start(broker, deviceId, { clientId: `peek-${Math.random().toString(16).slice(2)}`, clean: true });
  try {
    const m = await o.waitFor(() => o.of('status')[0], 5000, 'retained status');
    return { ...pb.Status.decode(m.payload), retain: m.retain };
  } finally {
    o.end();
  }
}

void test('retained status: ONLINE while running, OFFLINE after a clean stop, LOST after SIGKILL', { timeout: 120_000 }, async () => {
  const obs = await Observer.start(broker, 'cam-p1');
  observers.push(obs);
  let a = await startAgent({ board, config: agentConfig(broker, 'cam-p1') });
  agents.push(a);
  await obs.waitFor(() => obs.statuses().find((s) => s.presence === pb.Presence.PRESENCE_ONLINE), 20_000, 'ONLINE');
  let st = await retainedStatus('cam-p1');
  assert.equal(st.presence, pb.Presence.PRESENCE_ONLINE);
  assert.equal(st.retain, true, 'status is retained');
  assert.equal(st.deviceId, 'cam-p1');
  assert.match(st.bootId, /^[0-9a-f-]{36}$/);

  assert.equal(await a.stop(), 0);
  await obs.waitFor(() => obs.statuses().find((s) => s.presence === pb.Presence.PRESENCE_OFFLINE), 10_000, 'OFFLINE');
  await sleep(500);
  assert.equal(obs.statuses().filter((s) => s.presence === pb.Presence.PRESENCE_LOST).length, 0, 'a clean stop does not fire the Will');
  st = await retainedStatus('cam-p1');
  assert.equal(st.presence, pb.Presence.PRESENCE_OFFLINE);
  assert.equal(st.reason, 'stopping');

  a = await startAgent({ board, dataDir: a.dataDir, config: agentConfig(broker, 'cam-p1') });
  agents.push(a);
  await obs.waitFor(() => obs.statuses().filter((s) => s.presence === pb.Presence.PRESENCE_ONLINE).length >= 2, 20_000, 'second ONLINE');
  const runId = obs.statuses().at(-1)!.runId;
  await a.kill('SIGKILL');
  const lost = await obs.waitFor(() => obs.statuses().find((s) => s.presence === pb.Presence.PRESENCE_LOST), 15_000, 'LOST (Will)');
  assert.equal(lost.runId, runId, 'the Will belongs to the killed run');
  st = await retainedStatus('cam-p1');
  assert.equal(st.presence, pb.Presence.PRESENCE_LOST);
  assert.equal(st.retain, true);
});

void test('heartbeats: at connect and every interval, decodable by the generated code and by protoc --decode', { timeout: 120_000 }, async () => {
  const obs = await Observer.start(broker, 'cam-p2');
  observers.push(obs);
  const a = await startAgent({ board, config: agentConfig(broker, 'cam-p2', { policy: { heartbeatOffDutyS: 1, heartbeatOnDutyS: 1 } }) });
  agents.push(a);
  await obs.waitFor(() => obs.heartbeats().length >= 3, 20_000, '3 heartbeats');
  await a.press('shift', { holdS: 2.2 });
  await a.waitFor((s) => s.state === 'RECORDING' && s.segments >= 2, 30_000, 'recording');
  const hb = await obs.waitFor(() => obs.heartbeats().find((h) => h.state === pb.ShiftState.SHIFT_STATE_RECORDING && (h.recording?.segments ?? 0) >= 1), 20_000, 'heartbeat on duty');
  const s = await a.status();
  assert.equal(hb.deviceId, 'cam-p2');
  assert.equal(hb.shiftId, s.shiftId);
  assert.equal(hb.bootId, s.bootId);
  assert.equal(hb.firmware, s.firmware);
  assert.ok(hb.uptimeS > 0 && hb.agentUptimeS > 0);
  assert.ok((hb.storage?.totalBytes ?? 0) > 0 && (hb.storage?.freeBytes ?? 0) > 0);
  // Battery comes from the power component when it runs: present in both or in neither.
  assert.equal(hb.battery != null, s.battery != null, 'battery reported as status has it');
  assert.ok(hb.recording!.encoderRunning);
  assert.match(hb.journalHead, /^[0-9a-f]{64}$/);
  assert.ok(hb.memAvailableBytes > 0);
  assert.ok(hb.clock?.source);
  const seqs = obs.heartbeats().map((h) => h.seq);
  assert.ok(seqs.every((q, i) => i === 0 || q > seqs[i - 1]!), `heartbeat seq increasing: ${seqs.join(',')}`);

  // protoc, from the .proto files alone (what a central team in another language would do).
  const raw = obs.of('heartbeat').find((m) => pb.Heartbeat.decode(m.payload).seq === hb.seq)!.payload;
  const r = spawnSync('protoc', ['--decode=bodycam.v1.Heartbeat', '-I', join(REPO, 'proto'), 'bodycam/v1/heartbeat.proto'], { input: raw, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^seq: ${hb.seq}$`, 'm'));
  assert.match(r.stdout, /^device_id: "cam-p2"$/m);
  assert.match(r.stdout, /^state: SHIFT_STATE_RECORDING$/m);
  assert.match(r.stdout, new RegExp(`^shift_id: "${s.shiftId}"$`, 'm'));
  assert.match(r.stdout, /^recording \{\n {2}segments: \d+/m);

  // Heartbeat seq keeps growing across an agent restart.
  const last = Math.max(...obs.heartbeats().map((h) => h.seq));
  await a.stop();
  const b = await startAgent({ board, dataDir: a.dataDir, config: agentConfig(broker, 'cam-p2', { policy: { heartbeatOffDutyS: 1, heartbeatOnDutyS: 1 } }) });
  agents.push(b);
  const n0 = obs.heartbeats().length;
  await obs.waitFor(() => obs.heartbeats().length > n0, 20_000, 'heartbeat after restart');
  assert.ok(obs.heartbeats()[n0]!.seq > last, 'monotonic across restarts');
  await b.stop();
});

void test('MQTT 3.1.1 (protocolVersion 4) works too: birth, Will-less clean stop', { timeout: 60_000 }, async () => {
  const obs = await Observer.start(broker, 'cam-p5');
  observers.push(obs);
  const a = await startAgent({ board, config: agentConfig(broker, 'cam-p5', { mqtt: { protocolVersion: 4 } }) });
  agents.push(a);
  await obs.waitFor(() => obs.statuses().find((s) => s.presence === pb.Presence.PRESENCE_ONLINE), 20_000, 'ONLINE over 3.1.1');
  await obs.waitFor(() => obs.heartbeats().length >= 1, 20_000, 'heartbeat over 3.1.1');
  assert.equal(await a.stop(), 0);
  await obs.waitFor(() => obs.statuses().find((s) => s.presence === pb.Presence.PRESENCE_OFFLINE), 10_000, 'OFFLINE over 3.1.1');
  assert.match(a.logs(), /"protocol":"MQTT 3.1.1"/);
});

void test('the shipped broker config refuses clients without a valid certificate, and confines devices to their topics', { timeout: 60_000 }, async () => {
  const ca = readFileSync(broker.pki.ca);
  const tryConnect = (opts: mqtt.IClientOptions, url = broker.url): Promise<string> =>
    new Promise((resolve) => {
      const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...opts });
      const t = setTimeout(() => {
        c.end(true);
        resolve('timeout');
      }, 8000);
      c.once('connect', () => {
        clearTimeout(t);
        c.end(true);
        resolve('connected');
      });
      c.once('error', (e) => {
        clearTimeout(t);
        c.end(true);
        resolve(`error: ${e.message}`);
      });
    });
  // The control: a fleet certificate connects.
  const good = broker.pki.client('cam-p3');
  assert.equal(await tryConnect({ ca, cert: readFileSync(good.cert), key: readFileSync(good.key) }), 'connected');
  // No certificate.
  assert.notEqual(await tryConnect({ ca }), 'connected', 'no client certificate');
  // A certificate from another CA, even with a valid device name.
  const rogue = broker.pki.rogue('cam-p3');
  assert.notEqual(await tryConnect({ ca, cert: readFileSync(rogue.cert), key: readFileSync(rogue.key) }), 'connected', 'untrusted CA');
  // Plain MQTT on the TLS port.
  assert.notEqual(await tryConnect({}, `mqtt://127.0.0.1:${broker.port}`), 'connected', 'no TLS');
  assert.match(broker.logs(), /certificate|ssl|tls|OpenSSL/i);

  // ACL: cam-p3 may not publish as cam-p4 nor read cam-p4's commands.
  const c = await broker.connect('cam-p3', { reconnectPeriod: 0 });
  const err = await new Promise<Error | undefined>((resolve) => c.publish('bodycam/v1/cam-p4/event', Buffer.from('x'), { qos: 1 }, (e) => resolve(e ?? undefined)));
  assert.ok(err, 'publishing under another device id is refused');
  // mosquitto grants the subscription but checks read access per message: nothing arrives.
  const got: string[] = [];
  c.on('message', (t) => got.push(t));
  await new Promise((resolve) => c.subscribe(['bodycam/v1/cam-p4/cmd', 'bodycam/v1/cam-p3/cmd'], { qos: 1 }, resolve));
  const central = await broker.connect('central', { reconnectPeriod: 0 });
  await new Promise((resolve) => central.publish('bodycam/v1/cam-p4/cmd', Buffer.from('for p4'), { qos: 1 }, resolve));
  await new Promise((resolve) => central.publish('bodycam/v1/cam-p3/cmd', Buffer.from('for p3'), { qos: 1 }, resolve));
  const until = Date.now() + 5000;
  while (!got.includes('bodycam/v1/cam-p3/cmd') && Date.now() < until) await sleep(50);
  assert.deepEqual(got, ['bodycam/v1/cam-p3/cmd'], "a device reads its own commands only");
  c.end(true);
  central.end(true);
});
