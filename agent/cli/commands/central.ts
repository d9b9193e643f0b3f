/**
 * `bodycam central …`: the operator's (and tests') side of the MQTT contract.
 *   keygen  --out DIR                        Ed25519 key pair that signs commands
 *   sign    --key K --device ID --type T …   build + sign one command (file or stdout)
 *   watch   --url U [--device ID]            print decoded telemetry, one JSON object per line
 *   publish --url U --device ID --file F     send a signed command and print its result
 *   ingest  [--config F] [--once]            the ingest service (central-ingest.ts)
 *   console [--config F]                     the supervisor's console (central-console.ts)
 *   console-user add NAME --role R …         an operator account for the console
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, generateKeyPairSync, createPrivateKey } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Command } from '../command.js';
import { parseArgs, type FlagSpecs } from '../args.js';
import { BodycamError, UsageError, describe } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { buildCommand, keyId, signCommand, ACTIONS, GROUP_ACTIONS, updateFirmwareProblem, liveViewProblem, type Action, type ActionName } from '../../commands/commands.js';
import { pb } from '../../telemetry/proto.js';
import { setPolicyIssues } from '../../commands/policy-check.js';
import { DEFAULT_POLICY } from '../../config/policy.js';
import { INGEST_USAGE, ingest } from './central-ingest.js';
import { CONSOLE_USAGE, consoleServe, consoleUser } from './central-console.js';

const USAGE = `usage: bodycam central <keygen|sign|watch|publish|ingest|console|console-user> [options]

  keygen  --out DIR [--force]
      DIR/central-cmd.key.pem (Ed25519 private key, 0600: keep it at central) and
      DIR/central-cmd.pub.pem (configure on cameras: "central": {"commandPublicKey": PATH}).
  sign    --key KEY (--device ID | --group TEAM) --type TYPE [fields] [--ttl SECONDS] --out FILE|-
      TYPE and its fields:
        set_policy      --set NAME=VALUE (repeatable), e.g. --set personalNeedsMaxS=600;
                        checked as the camera checks it (known names, allowed ranges) before
                        signing: a value every camera would refuse is exit 2, nothing signed
        legal_hold      --shift ID (--on | --off) [--reference TEXT]
        request_offload [--shift ID]
        identify        [--seconds N] (default 10)
        confirm_offload --shift ID --manifest SHA256
        start_duty, end_duty
        schedule_duty   --start ISO8601 --end ISO8601 (the duty window)
        assign_wearer   --wearer ID --name TEXT
        update_firmware --url URL --sha256 HEX --version X.Y.Z [--allow-downgrade]
                        (URL http(s):// or file://; checked as the camera checks it)
        live_view_start --viewer ID --reason TEXT --gateway HOST:PORT --session ID [--max-s N]
                        (N default 600; a camera refuses more than its policy liveViewMaxS)
        live_view_stop  --session ID
      --group TEAM addresses start_duty, end_duty and schedule_duty to every camera whose
      central.groupId is TEAM (publish the one signed file to each member's cmd topic).
      --out - writes the binary SignedCommand to stdout; --base64 encodes it.
  watch   --url URL [--device ID] [--ca F --cert F --key F] [--count N] [--timeout S]
      Subscribes to bodycam/v1/<device or +>/# and prints each message decoded, as JSON lines.
  publish --url URL --device ID --file FILE [--ca F --cert F --key F] [--timeout S]
      Publishes a signed command on bodycam/v1/<ID>/cmd and prints the device's result.
      Exit 0 when accepted, 1 when refused or no result arrived.
${INGEST_USAGE}
${CONSOLE_USAGE}`;

const TLS_FLAGS = {
  url: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  prefix: { type: 'string', help: "topic root (default 'bodycam/v1/')" },
  timeout: { type: 'number' },
} as const satisfies FlagSpecs;

function tlsOptions(f: { ca?: string; cert?: string; key?: string }): IClientOptions {
  return {
    ...(f.ca ? { ca: readFileSync(f.ca) } : {}),
    ...(f.cert ? { cert: readFileSync(f.cert) } : {}),
    ...(f.key ? { key: readFileSync(f.key) } : {}),
  };
}

function connect(url: string, opts: IClientOptions, timeoutMs: number): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: timeoutMs, ...opts });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (e) => {
      client.end(true);
      reject(new BodycamError('PROTOCOL', `cannot connect to ${url}: ${describe(e)}`));
    });
    client.once('close', () => reject(new BodycamError('PROTOCOL', `cannot connect to ${url}: connection closed`)));
  });
}

const DECODERS: Record<string, { decode(b: Uint8Array): object; toObject(m: never, o: object): object }> = {
  status: pb.Status as never,
  heartbeat: pb.Heartbeat as never,
  event: pb.Event as never,
  cmd: pb.SignedCommand as never,
  'cmd/result': pb.CommandResult as never,
};

/** Decodes one telemetry message by its topic; undecodable payloads are reported, not thrown. */
export function decodeTelemetry(topic: string, payload: Uint8Array, root = 'bodycam/v1/'): Record<string, unknown> {
  const rest = topic.startsWith(root) ? topic.slice(root.length) : topic;
  const slash = rest.indexOf('/');
  const device = slash < 0 ? rest : rest.slice(0, slash);
  const kind = slash < 0 ? '' : rest.slice(slash + 1);
  const dec = DECODERS[kind];
  if (!dec) return { topic, device, kind, bytes: payload.length };
  try {
    const msg = dec.toObject(dec.decode(payload) as never, { enums: String, defaults: true, bytes: String });
    return { topic, device, kind, message: msg };
  } catch (e) {
    return { topic, device, kind, bytes: payload.length, error: describe(e) };
  }
}

/** A set_policy every camera would refuse is a usage error, nothing signed (agent/commands/policy-check.ts). */
function refuseInvalidPolicy(values: Record<string, number>): void {
  const { fatal, warnings } = setPolicyIssues(values);
  const setting = (f: string): string => (Object.hasOwn(values, f) ? `--set ${f}=${values[f]}` : f || 'set_policy');
  for (const i of warnings) console.error(`central sign: warning: a camera on the default policy would refuse this: ${i.field} ${i.message} (signed anyway: the camera's own policy decides)`);
  if (fatal.length) {
    throw new UsageError(`central sign: the camera would refuse this set_policy:\n${fatal.map((i) => `  ${setting(i.field)}: ${i.message}`).join('\n')}`);
  }
}

function parseAction(type: string, f: Record<string, unknown>): Action {
  const need = (k: string): string => {
    const v = f[k];
    if (typeof v !== 'string' || v === '') throw new UsageError(`central sign: --type ${type} needs --${k}`);
    return v;
  };
  switch (type as ActionName) {
    case 'set_policy': {
      const sets = (f.set as string[] | undefined) ?? [];
      if (!sets.length) throw new UsageError('central sign: --type set_policy needs at least one --set NAME=VALUE');
      const values: Record<string, number> = {};
      for (const s of sets) {
        const m = /^([A-Za-z0-9]+)=(.+)$/.exec(s);
        const n = m ? Number(m[2]) : NaN;
        if (!m || !Number.isFinite(n)) throw new UsageError(`central sign: --set '${s}' must be NAME=NUMBER`);
        values[m[1]!] = n;
      }
      refuseInvalidPolicy(values);
      return { type: 'set_policy', values };
    }
    case 'legal_hold':
      if (f.on === f.off) throw new UsageError('central sign: --type legal_hold needs exactly one of --on, --off');
      return { type: 'legal_hold', shiftId: need('shift'), on: f.on === true, reference: (f.reference as string | undefined) ?? '' };
    case 'request_offload':
      return { type: 'request_offload', shiftId: f.shift as string | undefined };
    case 'identify':
      return { type: 'identify', seconds: (f.seconds as number | undefined) ?? 10 };
    case 'confirm_offload':
      return { type: 'confirm_offload', shiftId: need('shift'), manifestSha256: need('manifest') };
    case 'start_duty':
      return { type: 'start_duty' };
    case 'end_duty':
      return { type: 'end_duty' };
    case 'schedule_duty': {
      const at = (k: string): number => {
        const ms = Date.parse(need(k));
        if (!Number.isFinite(ms)) throw new UsageError(`central sign: --${k} '${String(f[k])}' is not an ISO 8601 time`);
        return ms;
      };
      return { type: 'schedule_duty', startMs: at('start'), endMs: at('end') };
    }
    case 'assign_wearer':
      return { type: 'assign_wearer', wearerId: need('wearer'), name: need('name') };
    case 'update_firmware': {
      const u = { bundleUrl: need('url'), bundleSha256: need('sha256'), version: need('version') };
      const problem = updateFirmwareProblem(u);
      if (problem) throw new UsageError(`central sign: the camera would refuse this update_firmware: ${problem}`);
      return { type: 'update_firmware', ...u, allowDowngrade: f['allow-downgrade'] === true };
    }
    case 'live_view_start': {
      const gw = /^(.+):(\d{1,5})$/.exec(need('gateway'));
      if (!gw) throw new UsageError(`central sign: --gateway '${String(f.gateway)}' must be HOST:PORT`);
      const l = { viewerId: need('viewer'), reason: need('reason'), maxS: (f['max-s'] as number | undefined) ?? DEFAULT_POLICY.liveViewMaxS, gatewayHost: gw[1]!.replace(/^\[(.*)\]$/, '$1'), gatewayPort: Number(gw[2]), sessionId: need('session') };
      const problem = liveViewProblem(l);
      if (problem) throw new UsageError(`central sign: the camera would refuse this live_view_start: ${problem}`);
      if (l.maxS > DEFAULT_POLICY.liveViewMaxS) console.error(`central sign: warning: a camera on the default policy refuses --max-s above ${DEFAULT_POLICY.liveViewMaxS} (signed anyway: the camera's own policy decides)`);
      return { type: 'live_view_start', ...l };
    }
    case 'live_view_stop':
      return { type: 'live_view_stop', sessionId: need('session') };
    default:
      throw new UsageError(`central sign: unknown --type '${type}' (known: ${ACTIONS.join(', ')})`);
  }
}

async function keygen(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { out: { type: 'string' }, force: { type: 'boolean' } }, 'central keygen');
  if (!flags.out) throw new UsageError('central keygen: --out DIR is required');
  const priv = join(flags.out, 'central-cmd.key.pem');
  const pub = join(flags.out, 'central-cmd.pub.pem');
  if (existsSync(priv) && !flags.force) throw new BodycamError('STATE', `${priv} exists; refusing to overwrite a signing key (--force to replace it)`);
  const kp = generateKeyPairSync('ed25519');
  writeFileAtomic(priv, kp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeFileAtomic(pub, kp.publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
  console.log(`wrote ${priv} (keep at central) and ${pub} (key id ${keyId(kp.publicKey)})`);
  return 0;
}

async function signCmd(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, {
    key: { type: 'string' }, device: { type: 'string' }, type: { type: 'string' }, out: { type: 'string' }, ttl: { type: 'number' },
    set: { type: 'string', multiple: true }, shift: { type: 'string' }, on: { type: 'boolean' }, off: { type: 'boolean' },
    reference: { type: 'string' }, seconds: { type: 'number' }, manifest: { type: 'string' }, base64: { type: 'boolean' },
    group: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, wearer: { type: 'string' }, name: { type: 'string' },
    url: { type: 'string' }, sha256: { type: 'string' }, version: { type: 'string' }, 'allow-downgrade': { type: 'boolean' },
    viewer: { type: 'string' }, reason: { type: 'string' }, gateway: { type: 'string' }, session: { type: 'string' }, 'max-s': { type: 'number' },
  }, 'central sign');
  for (const k of ['key', 'type', 'out'] as const) if (!flags[k]) throw new UsageError(`central sign: --${k} is required`);
  // A team's duty command names its group instead of one device (the device checks both).
  if (!flags.device === !flags.group) throw new UsageError('central sign: exactly one of --device, --group is required');
  if (flags.group && !GROUP_ACTIONS.has(flags.type as ActionName)) throw new UsageError(`central sign: --group is only for ${[...GROUP_ACTIONS].join(', ')}`);
  const ttl = flags.ttl ?? 300;
  if (!(ttl > 0)) throw new UsageError('central sign: --ttl must be positive');
  let key;
  try {
    key = createPrivateKey(readFileSync(flags.key!));
  } catch (e) {
    throw new BodycamError('CONFIG', `cannot load signing key ${flags.key}: ${describe(e)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new BodycamError('CONFIG', `${flags.key} is not an Ed25519 key`);
  const cmd = buildCommand({ deviceId: flags.device ?? '', ...(flags.group ? { groupId: flags.group } : {}), action: parseAction(flags.type!, flags), ttlS: ttl });
  const bytes = signCommand(cmd, key);
  const out = flags.base64 ? Buffer.from(Buffer.from(bytes).toString('base64') + '\n') : Buffer.from(bytes);
  if (flags.out === '-') process.stdout.write(out);
  else writeFileSync(flags.out!, out);
  console.error(`signed ${flags.type} for ${flags.device ?? `group ${flags.group}`}, id ${Buffer.from(cmd.nonce as Uint8Array).toString('hex')}, key ${keyId(createPublicKey(key))}, expires ${new Date(cmd.expiresAtMs as number).toISOString()}`);
  return 0;
}

async function watch(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { ...TLS_FLAGS, device: { type: 'string' }, count: { type: 'number' } }, 'central watch');
  if (!flags.url) throw new UsageError('central watch: --url is required');
  const root = flags.prefix ?? 'bodycam/v1/';
  const client = await connect(flags.url, tlsOptions(flags), 10_000);
  const topic = `${root}${flags.device ?? '+'}/#`;
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      client.end(true);
      resolve();
    };
    if (flags.timeout) timer = setTimeout(done, flags.timeout * 1000);
    client.on('message', (t, p) => {
      console.log(JSON.stringify(decodeTelemetry(t, p, root)));
      if (flags.count && ++n >= flags.count) done();
    });
    client.on('close', () => resolve());
    client.subscribe(topic, { qos: 1 }, (err) => err && reject(new BodycamError('PROTOCOL', `subscribe ${topic}: ${describe(err)}`)));
  });
  return 0;
}

async function publish(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { ...TLS_FLAGS, device: { type: 'string' }, file: { type: 'string' } }, 'central publish');
  for (const k of ['url', 'device', 'file'] as const) if (!flags[k]) throw new UsageError(`central publish: --${k} is required`);
  const root = flags.prefix ?? 'bodycam/v1/';
  let payload = readFileSync(flags.file!);
  // Accept the --base64 form of `central sign` too.
  if (/^[A-Za-z0-9+/=\s]+$/.test(payload.toString('latin1'))) payload = Buffer.from(payload.toString('latin1'), 'base64');
  const client = await connect(flags.url!, tlsOptions(flags), 10_000);
  const resultTopic = `${root}${flags.device}/cmd/result`;
  const digest = (await import('node:crypto')).createHash('sha256').update(payload).digest('hex');
  const result = await new Promise<Record<string, unknown> | undefined>((resolve) => {
    const t = setTimeout(() => resolve(undefined), (flags.timeout ?? 15) * 1000);
    client.on('message', (topic, p) => {
      if (topic !== resultTopic) return;
      const d = decodeTelemetry(topic, p, root);
      const m = d.message as { payloadSha256?: string } | undefined;
      if (m?.payloadSha256 !== digest) return;
      clearTimeout(t);
      resolve(m as Record<string, unknown>);
    });
    client.subscribe(resultTopic, { qos: 1 }, () => client.publish(`${root}${flags.device}/cmd`, payload, { qos: 1 }));
  });
  client.end(true);
  if (!result) {
    console.error(`no result from ${flags.device} within ${flags.timeout ?? 15} s (device offline? commands wait in its session until they expire)`);
    return 1;
  }
  console.log(JSON.stringify(result));
  return result.accepted ? 0 : 1;
}

export const centralCommand: Command = {
  name: 'central',
  summary: 'central side of MQTT: key, sign and publish commands, watch telemetry, ingest uploads, the supervisor\'s console',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'keygen': return keygen(rest);
      case 'sign': return signCmd(rest);
      case 'watch': return watch(rest);
      case 'publish': return publish(rest);
      case 'ingest': return ingest(rest);
      case 'console': return consoleServe(rest);
      case 'console-user': return consoleUser(rest);
      default: throw new UsageError(sub ? `central: unknown subcommand '${sub}'` : 'central: a subcommand is required');
    }
  },
};
