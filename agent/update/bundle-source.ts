/**
 * Fetches a bundle named by a command (http://, https://, file://) into the update directory,
 * hashing while it streams and stopping at the size cap; the file is renamed into place only when
 * its SHA-256 matches the command's. A partial or mismatching download leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { UpdateError, describe } from '../lib/errors.js';
import { fsyncFile } from '../lib/atomic.js';

export async function fetchBundle(url: string, sha256: string, dest: string, maxBytes: number): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UpdateError('download', `not a URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  let source: Readable;
  if (u.protocol === 'file:') source = createReadStream(fileURLToPath(u));
  else if (u.protocol === 'http:' || u.protocol === 'https:') {
    const res = await fetch(u).catch((e: unknown) => {
      throw new UpdateError('download', `${u.origin}: ${describe(e)}`);
    });
    if (!res.ok || !res.body) throw new UpdateError('download', `${url}: HTTP ${res.status}`);
    source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  } else throw new UpdateError('download', `unsupported URL scheme ${u.protocol} (http, https, file)`);
  const part = `${dest}.part`;
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > maxBytes) return cb(new UpdateError('download', `bundle exceeds ${Math.round(maxBytes / 1048576)} MiB`));
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(part, { mode: 0o600 }));
    const got = hash.digest('hex');
    if (got !== sha256) throw new UpdateError('hash', `bundle SHA-256 ${got} does not match the command's ${sha256}`);
    fsyncFile(part);
    renameSync(part, dest);
  } catch (e) {
    rmSync(part, { force: true });
    if (e instanceof UpdateError) throw e;
    throw new UpdateError('download', `${url}: ${describe(e)}`, { cause: e });
  }
}

/** SHA-256 of a local bundle (the bench path), streamed. */
export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}
