/**
 * The offload tests' evidence store: a Ceph cluster from test/helpers/ceph.ts set up with the
 * operators' script (scripts/s3-setup.mjs), exactly as an operator would, plus the operator's
 * read-back helpers.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectVersionsCommand, ListMultipartUploadsCommand, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { startCeph, type CephCluster } from '../helpers/ceph.js';
import { createS3Client } from '../../agent/offload/s3.js';
import type { OffloadCredentials } from '../../agent/offload/config.js';

const run = promisify(execFile);
export const BUCKET = 'evidence';
export const PREFIX = 'bodycam';
/** Small parts so that test media (a few 100 KB) still makes multi-part uploads. */
export const PART_BYTES = 64 * 1024;

export interface Store {
  readonly ceph: CephCluster;
  readonly operator: S3Client;
  readonly operatorCreds: OffloadCredentials;
  readonly deviceCreds: Map<string, OffloadCredentials & { file: string }>;
  readonly credsDir: string;
  stop(): Promise<void>;
}

export async function startStore(deviceIds: string[]): Promise<Store> {
  const ceph = await startCeph({ multipartMinPartSize: PART_BYTES });
  const credsDir = mkdtempSync(join(tmpdir(), 'bodycam-s3creds-'));
  try {
    const args = [
      'scripts/s3-setup.mjs', '--endpoint', ceph.endpoint, '--bucket', BUCKET, '--prefix', PREFIX, '--retention-days', '30',
      '--operator', 'operator', '--out', credsDir, '--admin-cmd', `radosgw-admin -c ${ceph.conf} -n client.rgw`,
      ...deviceIds.flatMap((d) => ['--device', d]),
    ];
    await run(process.execPath, args, { timeout: 120_000 });
  } catch (e) {
    await ceph.stop();
    rmSync(credsDir, { recursive: true, force: true });
    throw e;
  }
  const read = (f: string): OffloadCredentials & { file: string } => {
    const o = JSON.parse(readFileSync(join(credsDir, f), 'utf8')) as OffloadCredentials;
    return { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey, file: join(credsDir, f) };
  };
  const operatorCreds = read('operator.json');
  const deviceCreds = new Map(deviceIds.map((d) => [d, read(`device-${d}.json`)]));
  const operator = createS3Client({ endpoint: ceph.endpoint, region: 'default', forcePathStyle: true, credentials: operatorCreds });
  return {
    ceph, operator, operatorCreds, deviceCreds, credsDir,
    async stop() {
      operator.destroy();
      await ceph.stop();
      rmSync(credsDir, { recursive: true, force: true });
    },
  };
}

export async function getObject(s3: S3Client, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Every version of every key under a prefix (to prove nothing was stored twice). */
export async function versions(s3: S3Client, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
    for (const v of r.Versions ?? []) out.set(v.Key!, (out.get(v.Key!) ?? 0) + 1);
    if (!r.IsTruncated) return out;
    keyMarker = r.NextKeyMarker;
    versionMarker = r.NextVersionIdMarker;
  }
}

/**
 * Bytes held by multipart uploads still open under a prefix. A SIGKILL between the server's
 * CreateMultipartUpload and the device persisting the upload id can leave an empty upload behind
 * (the device may not list uploads); it holds no parts, and the bucket's lifecycle rule aborts it.
 * Any part in an open upload would be data stored twice.
 */
export async function openUploadBytes(s3: S3Client, prefix: string): Promise<number> {
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  let bytes = 0;
  for (const u of r.Uploads ?? []) {
    const p = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: u.Key!, UploadId: u.UploadId! }));
    for (const part of p.Parts ?? []) bytes += part.Size ?? 0;
  }
  return bytes;
}

export async function openUploads(s3: S3Client, prefix: string): Promise<number> {
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Uploads ?? []).length;
}
