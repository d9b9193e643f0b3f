/**
 * The ingest config and device registry at the edge: the shipped example parses once its files
 * exist; every problem of a bad config is reported together and `bodycam central ingest` exits 2;
 * a registry lookup never leaves its directory.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { REPO, cleanup, runCli, tempDataDir } from '../helpers/agent.js';
import { parseIngestConfig } from '../../central/ingest/config.js';
import { DeviceRegistry } from '../../central/ingest/registry.js';
import { ConfigError } from '../../agent/lib/errors.js';

const dir = tempDataDir('bodycam-ingest-config-');
after(() => cleanup(dir));

/** docs/central/ingest.example.json with its file paths pointed into this test's directory. */
function example(): Record<string, unknown> {
  const ex = JSON.parse(readFileSync(join(REPO, 'docs/central/ingest.example.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  const file = (name: string, body = 'x'): string => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };
  ex.mqtt = { ...ex.mqtt, ca: file('ca.crt'), cert: file('ingest.crt'), key: file('ingest.key') };
  ex.s3 = { ...ex.s3, credentialsFile: file('operator.json', JSON.stringify({ endpoint: 'http://127.0.0.1:7480', bucket: 'evidence', region: 'default', accessKeyId: 'AK', secretAccessKey: 'SK' })) };
  mkdirSync(join(dir, 'registry'), { recursive: true });
  return { ...ex, registryDir: join(dir, 'registry'), commandKey: file('central-cmd.key.pem'), workDir: join(dir, 'work'), metricsFile: join(dir, 'm.prom') };
}

void test('the shipped example config parses: credentials, endpoint and bucket come from the operator file', () => {
  const c = parseIngestConfig(example(), 'example');
  assert.equal(c.s3.bucket, 'evidence');
  assert.equal(c.s3.endpoint, 'http://127.0.0.1:7480');
  assert.equal(c.s3.accessKeyId, 'AK');
  assert.equal(c.s3.keyPrefix, 'bodycam');
  assert.equal(c.s3.resultPrefix, 'ingest');
  assert.equal(c.mqtt.shareGroup, 'ingest');
  assert.equal(c.workerId, 'ingest-1');
  assert.equal(c.rescanS, 300);
});

void test('a bad config reports every problem at once: unknown field, results inside the device prefix, unreadable key, bad number', () => {
  const bad = example();
  bad.colour = 'blue';
  (bad.s3 as Record<string, unknown>).resultPrefix = 'bodycam/ingest';
  bad.commandKey = join(dir, 'missing.pem');
  bad.rescanS = 0;
  let err: unknown;
  try {
    parseIngestConfig(bad, 'bad.json');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(err.issues.map((i) => i.where).sort(), ['/colour', '/commandKey', '/rescanS', '/s3/resultPrefix']);
});

void test('ingest config schema: bad type, out of range and unknown key each name their JSON pointer and what is allowed', () => {
  const bad = example();
  bad.concurrency = 'many';
  bad.claimTtlS = 86401;
  (bad.mqtt as Record<string, unknown>).qos = 1;
  (bad.s3 as Record<string, unknown>).forcePathStyle = 'yes';
  let err: unknown;
  try {
    parseIngestConfig(bad, 'ingest.json');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(err.issues.map((i) => `${i.where}: ${i.message}`).sort(), [
    '/claimTtlS: must be <= 86400 (got 86401; range [1, 86400])',
    '/concurrency: must be number (got "many")',
    '/mqtt/qos: unknown key (allowed: url, ca, cert, key, topicRoot, shareGroup, clientId)',
    '/s3/forcePathStyle: must be boolean (got "yes")',
  ]);
  assert.match(err.message, /^ingest\.json: 4 problem\(s\)/);
});

void test('bodycam central ingest with a bad config exits 2 naming the problem, before connecting anywhere', async () => {
  const p = join(dir, 'bad.json');
  writeFileSync(p, JSON.stringify({ mqtt: {}, s3: {} }));
  const r = await runCli(['central', 'ingest', '--config', p, '--once']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /\/mqtt\/url: required/);
  assert.match(r.stderr, /\/registryDir: required/);
});

void test('the device registry finds registered keys only, and never outside its directory', () => {
  const reg = join(dir, 'reg');
  mkdirSync(join(reg, 'CAM-1'), { recursive: true });
  writeFileSync(join(reg, 'CAM-1', 'device.pub.pem'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string);
  mkdirSync(join(reg, 'CAM-2'), { recursive: true });
  writeFileSync(join(reg, 'CAM-2', 'device.pub.pem'), 'not a key');
  // A key just outside the registry, reachable by '..' if ids were not checked.
  writeFileSync(join(dir, 'device.pub.pem'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const r = new DeviceRegistry(reg);
  assert.equal(r.lookup('CAM-1').found, true);
  const two = r.lookup('CAM-2');
  assert.ok(!two.found && two.reason === 'bad_key');
  const none = r.lookup('CAM-3');
  assert.ok(!none.found && none.reason === 'unknown_device');
  for (const id of ['..', '.', '../reg/CAM-1', 'CAM-1/..']) {
    const l = r.lookup(id);
    assert.ok(!l.found && l.reason === 'unknown_device', id);
  }
});
