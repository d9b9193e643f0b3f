#!/usr/bin/env node
/**
 * Sets up the central evidence store on Ceph RGW for bodycam offload (operators; the offload tests
 * use it too). Idempotent: re-running it adds devices and re-applies the bucket settings.
 *
 *   node scripts/s3-setup.mjs --endpoint http://rgw.example:7480 --bucket evidence \
 *       [--region default] [--prefix bodycam] [--retention-days 30] \
 *       [--operator operator] [--device CAM-0001 ...] [--out DIR] [--admin-cmd "radosgw-admin -c /etc/ceph/ceph.conf"]
 *
 * It makes:
 * - an operator user (radosgw-admin) that owns the bucket and reads what devices upload;
 * - the bucket with Object Lock and a default COMPLIANCE retention (>= 30 days: the regulation's
 *   minimum; nobody, the operator included, can delete a version before it expires), and a
 *   lifecycle rule that aborts multipart uploads left incomplete for 7 days;
 * - per device a user that is write-only by bucket policy: PutObject (incl. multipart) and
 *   ListMultipartUploadParts (what resume needs) under `<prefix>/<device-id>/`; GetObject,
 *   HeadObject, List*, Delete*, retention and legal-hold changes explicitly denied;
 * - credentials files (mode 0600) in --out: operator.json and device-<id>.json; the latter is what
 *   a device's `offload.credentialsFile` points at.
 * Prints a JSON summary on stdout. Exit 0 ok, 1 failure, 2 usage.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import {
  S3Client, CreateBucketCommand, PutObjectLockConfigurationCommand, GetObjectLockConfigurationCommand,
  PutBucketPolicyCommand, GetBucketPolicyCommand, PutBucketLifecycleConfigurationCommand,
} from '@aws-sdk/client-s3';

const run = promisify(execFile);
const USAGE = 'usage: s3-setup.mjs --endpoint URL --bucket NAME [--region R] [--prefix P] [--retention-days N>=30] [--operator UID] [--device ID ...] [--out DIR] [--admin-cmd "radosgw-admin ..."]';

function parse(argv) {
  const o = { region: 'default', prefix: 'bodycam', retentionDays: 30, operator: 'bodycam-operator', devices: [], out: '.', adminCmd: 'radosgw-admin' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--endpoint': o.endpoint = val(); break;
      case '--bucket': o.bucket = val(); break;
      case '--region': o.region = val(); break;
      case '--prefix': o.prefix = val().replace(/^\/+|\/+$/g, ''); break;
      case '--retention-days': o.retentionDays = Number(val()); break;
      case '--operator': o.operator = val(); break;
      case '--device': o.devices.push(val()); break;
      case '--out': o.out = val(); break;
      case '--admin-cmd': o.adminCmd = val(); break;
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      default: usage(`unknown option '${a}'`);
    }
  }
  if (!o.endpoint) usage('--endpoint is required');
  if (!o.bucket) usage('--bucket is required');
  if (!Number.isInteger(o.retentionDays) || o.retentionDays < 30) usage('--retention-days must be an integer >= 30 (evidence is kept at least 30 days)');
  for (const d of [...o.devices, o.operator]) if (!/^[A-Za-z0-9._-]{1,64}$/.test(d)) usage(`'${d}' is not a valid id (A-Z a-z 0-9 . _ -)`);
  return o;
}

function usage(msg) {
  console.error(`s3-setup: ${msg}\n${USAGE}`);
  process.exit(2);
}

const deviceUid = (id) => `bodycam-dev-${id}`;

async function admin(o, args) {
  const [cmd, ...pre] = o.adminCmd.split(/\s+/).filter(Boolean);
  const { stdout } = await run(cmd, [...pre, ...args], { timeout: 60_000 });
  return stdout;
}

/** Creates the RGW user if missing; returns its first S3 key pair. */
async function ensureUser(o, uid, displayName) {
  let info;
  try {
    info = JSON.parse(await admin(o, ['user', 'info', `--uid=${uid}`]));
  } catch {
    info = JSON.parse(await admin(o, ['user', 'create', `--uid=${uid}`, `--display-name=${displayName}`]));
  }
  const k = info.keys?.find((x) => x.user === uid) ?? info.keys?.[0];
  if (!k) throw new Error(`user ${uid} has no S3 key`);
  return { uid, accessKeyId: k.access_key, secretAccessKey: k.secret_key };
}

function client(o, c) {
  return new S3Client({
    endpoint: o.endpoint, region: o.region, forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function deviceStatements(bucket, prefix, id) {
  const principal = { AWS: [`arn:aws:iam:::user/${deviceUid(id)}`] };
  const own = `arn:aws:s3:::${bucket}/${prefix ? prefix + '/' : ''}${id}/*`;
  return [
    { Sid: `dev-${id}-write`, Effect: 'Allow', Principal: principal, Action: ['s3:PutObject', 's3:ListMultipartUploadParts'], Resource: [own] },
    {
      Sid: `dev-${id}-deny`, Effect: 'Deny', Principal: principal,
      // Explicit: objects a device uploads belong to it, and an owner's ACL would otherwise let it read them.
      Action: [
        's3:GetObject', 's3:GetObjectVersion', 's3:GetObjectAcl', 's3:PutObjectAcl', 's3:DeleteObject', 's3:DeleteObjectVersion',
        's3:ListBucket', 's3:ListBucketVersions', 's3:ListBucketMultipartUploads', 's3:AbortMultipartUpload',
        's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:BypassGovernanceRetention', 's3:GetObjectRetention', 's3:GetObjectLegalHold',
      ],
      Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    },
  ];
}

async function main() {
  const o = parse(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  const op = await ensureUser(o, o.operator, 'bodycam evidence operator');
  const s3 = client(o, op);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: o.bucket, ObjectLockEnabledForBucket: true }));
  } catch (e) {
    if (e.name !== 'BucketAlreadyOwnedByYou' && e.name !== 'BucketAlreadyExists') throw e;
    // An existing bucket must already have Object Lock: it cannot be switched on afterwards here.
    const lc = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: o.bucket })).catch(() => undefined);
    if (lc?.ObjectLockConfiguration?.ObjectLockEnabled !== 'Enabled') throw new Error(`bucket ${o.bucket} exists without Object Lock; choose another name`);
  }
  await s3.send(new PutObjectLockConfigurationCommand({
    Bucket: o.bucket,
    ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: o.retentionDays } } },
  }));
  await s3.send(new PutBucketLifecycleConfigurationCommand({
    Bucket: o.bucket,
    LifecycleConfiguration: { Rules: [{ ID: 'abort-stale-multipart', Status: 'Enabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }] },
  }));

  const devices = [];
  for (const id of o.devices) {
    const d = await ensureUser(o, deviceUid(id), `bodycam device ${id}`);
    devices.push({ id, ...d });
  }
  // Merge with the statements already in the policy (devices set up by earlier runs).
  let statements = [];
  try {
    const cur = await s3.send(new GetBucketPolicyCommand({ Bucket: o.bucket }));
    statements = JSON.parse(cur.Policy ?? '{}').Statement ?? [];
  } catch (e) {
    if (e.name !== 'NoSuchBucketPolicy' && e.$metadata?.httpStatusCode !== 404) throw e;
  }
  const newIds = new Set(devices.map((d) => d.id));
  statements = statements.filter((s) => !(typeof s.Sid === 'string' && [...newIds].some((id) => s.Sid === `dev-${id}-write` || s.Sid === `dev-${id}-deny`)));
  for (const d of devices) statements.push(...deviceStatements(o.bucket, o.prefix, d.id));
  if (statements.length) await s3.send(new PutBucketPolicyCommand({ Bucket: o.bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }));

  const write = (name, obj) => {
    const p = join(o.out, name);
    writeFileSync(p, JSON.stringify(obj, null, 2) + '\n', { mode: 0o600 });
    chmodSync(p, 0o600);
    return p;
  };
  const common = { endpoint: o.endpoint, region: o.region, bucket: o.bucket };
  const summary = {
    endpoint: o.endpoint, bucket: o.bucket, region: o.region, retention: { mode: 'COMPLIANCE', days: o.retentionDays },
    operator: { uid: op.uid, credentialsFile: write('operator.json', { ...common, accessKeyId: op.accessKeyId, secretAccessKey: op.secretAccessKey }) },
    devices: devices.map((d) => ({
      id: d.id, uid: d.uid, keyPrefix: `${o.prefix ? o.prefix + '/' : ''}${d.id}/`,
      credentialsFile: write(`device-${d.id}.json`, { ...common, keyPrefix: o.prefix, accessKeyId: d.accessKeyId, secretAccessKey: d.secretAccessKey }),
    })),
  };
  s3.destroy();
  console.log(JSON.stringify(summary, null, 2));
}

main().catch((e) => {
  console.error(`s3-setup: ${e.name ?? 'Error'}: ${e.message}`);
  process.exit(1);
});
