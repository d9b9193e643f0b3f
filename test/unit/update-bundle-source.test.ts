/**
 * Fetching a bundle named by update_firmware (agent/update/bundle-source.ts) from a real HTTP
 * server on 127.0.0.1 and from file://: kept only when its SHA-256 matches the command's; a
 * mismatch, an oversize body or an HTTP error leaves nothing behind and says which step failed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { fetchBundle } from '../../agent/update/bundle-source.js';
import { isUpdateError } from '../../agent/lib/errors.js';

const BODY = randomBytes(200_000);
const SHA = createHash('sha256').update(BODY).digest('hex');
let server: Server;
let base = '';
const dir = mkdtempSync(join(tmpdir(), 'bodycam-bundle-'));

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/b.raucb') res.end(BODY);
    else res.writeHead(404).end('no');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

void test('http: a bundle whose SHA-256 matches is kept, byte for byte', async () => {
  const dest = join(dir, 'ok.raucb');
  await fetchBundle(`${base}/b.raucb`, SHA, dest, 1 << 20);
  assert.deepEqual(readFileSync(dest), BODY);
});

void test('http: a SHA-256 mismatch is an UpdateError at step hash and leaves no file, not even the partial one', async () => {
  const dest = join(dir, 'bad.raucb');
  await assert.rejects(fetchBundle(`${base}/b.raucb`, 'f'.repeat(64), dest, 1 << 20), (e) => isUpdateError(e) && e.step === 'hash');
  assert.equal(existsSync(dest), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('bad')), []);
});

void test('http: a body over the size cap and an HTTP 404 are download errors, nothing kept', async () => {
  await assert.rejects(fetchBundle(`${base}/b.raucb`, SHA, join(dir, 'big.raucb'), 100_000), (e) => isUpdateError(e) && e.step === 'download' && /exceeds/.test(e.message));
  await assert.rejects(fetchBundle(`${base}/nope.raucb`, SHA, join(dir, 'nf.raucb'), 1 << 20), (e) => isUpdateError(e) && e.step === 'download' && /404/.test(e.message));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('big') || f.startsWith('nf')), []);
});

void test('file:// works (a bundle on a USB stick at the dock); other schemes are refused', async () => {
  const src = join(dir, 'src.raucb');
  writeFileSync(src, BODY);
  const dest = join(dir, 'file.raucb');
  await fetchBundle(pathToFileURL(src).href, SHA, dest, 1 << 20);
  assert.deepEqual(readFileSync(dest), BODY);
  await assert.rejects(fetchBundle('ftp://example/b.raucb', SHA, join(dir, 'ftp.raucb'), 1 << 20), (e) => isUpdateError(e) && e.step === 'download');
});
