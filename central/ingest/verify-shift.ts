/**
 * Verifies one uploaded shift: the manifest against the store (every listed object present,
 * sizes and SHA-256 equal, nothing but the manifest's files counted), then the very verifier of
 * `bodycam verify` (agent/evidence/verify/) on the downloaded copy against the device's
 * registered key. Encrypted shifts are checked on their ciphertext hashes; with central's key,
 * media is decrypted and checked too.
 *
 * The outcome is a pure function of the bytes in the store and the registered key: two workers
 * verifying the same shift reach the same verdict (the report names no temp path, no worker).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { verifyShift, UnusableInputError } from '../../agent/evidence/verify/verify.js';
import type { Finding, VerifyReport } from '../../agent/evidence/verify/report.js';
import { sha256Hex, MANIFEST_FORMAT, MANIFEST_FILE, type Manifest } from '../../agent/offload/manifest.js';
import type { FileDigest } from '../../agent/evidence/file-hash.js';
import { hashFiles, hashThreadsFor } from '../../agent/evidence/hash-pool.js';
import { describe } from '../../agent/lib/errors.js';
import type { EvidenceStore, ShiftRef } from './store.js';
import type { DeviceRegistry } from './registry.js';

export type IngestVerdict = 'verified' | 'refused';

/** Why a shift was refused: one machine name per cause, with where and what. */
export interface Refusal {
  readonly kind: string;
  readonly where: string;
  readonly message: string;
}

/** One object as verified: the version the store served, and its content's hash and size. */
export interface PinnedObject {
  readonly versionId: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface ShiftVerification {
  readonly verdict: IngestVerdict;
  readonly deviceId: string;
  readonly shiftId: string;
  readonly manifestSha256: string;
  readonly bytes: number;
  readonly objects: number;
  readonly reasons: readonly Refusal[];
  /** The verifier's report (absent when it could not run: unknown device, unusable input). */
  readonly report: VerifyReport | undefined;
  /** Every object read, manifest.json included, by file name: the exact versions the verdict is about. */
  readonly versions: Readonly<Record<string, PinnedObject>>;
}

/** The manifest is not in the store yet: the upload is not complete (not a refusal). */
export class ManifestMissing extends Error {}

const SAFE_NAME = /^[A-Za-z0-9._-]{1,128}$/;

function parseManifest(bytes: Buffer, ref: ShiftRef, expectedPrefix: string): { m: Manifest | undefined; problems: Refusal[] } {
  const problems: Refusal[] = [];
  let m: Manifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch (e) {
    return { m: undefined, problems: [{ kind: 'manifest_invalid', where: MANIFEST_FILE, message: `not JSON: ${describe(e)}` }] };
  }
  const bad = (message: string): void => void problems.push({ kind: 'manifest_invalid', where: MANIFEST_FILE, message });
  if (m?.format !== MANIFEST_FORMAT) bad(`format ${JSON.stringify(m?.format)}, expected ${MANIFEST_FORMAT}`);
  if (m?.deviceId !== ref.deviceId) bad(`deviceId ${JSON.stringify(m?.deviceId)} but the shift was uploaded under ${ref.deviceId}`);
  if (m?.shiftId !== ref.shiftId) bad(`shiftId ${JSON.stringify(m?.shiftId)} but the shift was uploaded as ${ref.shiftId}`);
  if (m?.keyPrefix !== expectedPrefix) bad(`keyPrefix ${JSON.stringify(m?.keyPrefix)}, expected ${expectedPrefix}`);
  if (!Array.isArray(m?.files) || m.files.length === 0) bad('no files listed');
  else {
    for (const f of m.files) {
      if (typeof f?.name !== 'string' || !SAFE_NAME.test(f.name) || f.name === MANIFEST_FILE || typeof f.bytes !== 'number' || !/^[0-9a-f]{64}$/.test(String(f.sha256))) {
        bad(`unusable file entry ${JSON.stringify(f)}`);
      }
    }
  }
  return { m: problems.length ? undefined : m, problems };
}

export interface VerifyShiftOptions {
  readonly store: EvidenceStore;
  readonly registry: DeviceRegistry;
  readonly ref: ShiftRef;
  /** Scratch directory for this shift (created and removed here). */
  readonly workDir: string;
  readonly central?: { privateKey: KeyObject; publicKey: KeyObject };
}

export async function verifyUploadedShift(o: VerifyShiftOptions): Promise<ShiftVerification> {
  const { store, ref } = o;
  const manifest = await store.getVersion(store.shiftKey(ref, MANIFEST_FILE));
  if (!manifest) throw new ManifestMissing(`${store.shiftKey(ref, MANIFEST_FILE)} is not in the store (upload not complete)`);
  const manifestBytes = manifest.bytes;
  const manifestSha256 = sha256Hex(manifestBytes);
  const versions: Record<string, PinnedObject> = { [MANIFEST_FILE]: { versionId: manifest.versionId, sha256: manifestSha256, bytes: manifestBytes.length } };
  const base = { deviceId: ref.deviceId, shiftId: ref.shiftId, manifestSha256, versions };
  const refuse = (reasons: Refusal[], bytes = 0, objects = 0, report?: VerifyReport): ShiftVerification => ({ ...base, verdict: 'refused', reasons, bytes, objects, report });

  const key = o.registry.lookup(ref.deviceId);
  if (!key.found) return refuse([{ kind: key.reason, where: ref.deviceId, message: key.detail }]);

  const expectedPrefix = store.shiftKey(ref, '');
  const { m, problems } = parseManifest(manifestBytes, ref, expectedPrefix);
  if (!m) return refuse(problems);
  const bytes = m.files.reduce((a, f) => a + f.bytes, 0);

  const dir = join(o.workDir, `${ref.deviceId}__${ref.shiftId}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    // ---- the manifest against the store: each object present, its size and SHA-256 as listed
    const reasons: Refusal[] = [];
    const got: Array<{ f: Manifest['files'][number]; versionId: string | undefined }> = [];
    for (const f of m.files) got.push({ f, versionId: await store.download(store.shiftKey(ref, f.name), join(dir, f.name)) });
    // Hashed once, on every core, by the verifier's own pool: the verifier takes these digests
    // instead of hashing the same downloaded bytes again.
    const stored = got.filter((g) => g.versionId !== undefined);
    const hashed = await hashFiles(stored.map((g) => join(dir, g.f.name)), hashThreadsFor(stored.length, bytes));
    const digests = new Map<string, FileDigest>();
    let k = 0;
    for (const { f, versionId } of got) {
      if (versionId === undefined) {
        reasons.push({ kind: 'object_missing', where: f.name, message: `listed in the manifest, not in the store` });
        continue;
      }
      const d = hashed[k++]!;
      if (d instanceof Error) throw d; // our own download unreadable: not a property of the shift
      digests.set(f.name, d);
      versions[f.name] = { versionId, sha256: d.sha256, bytes: d.bytes };
      if (d.bytes !== f.bytes) reasons.push({ kind: 'object_size', where: f.name, message: `${d.bytes} bytes in the store, ${f.bytes} in the manifest` });
      else if (d.sha256 !== f.sha256) reasons.push({ kind: 'object_sha256', where: f.name, message: `SHA-256 ${d.sha256} in the store, ${f.sha256} in the manifest` });
    }
    // ---- the evidence itself, exactly as `bodycam verify` checks it
    let report: VerifyReport | undefined;
    try {
      // allowOpen false: a shift offloaded as ended must be closed (a journal cut at a signature is not).
      report = await verifyShift({ shiftDir: dir, publicKey: key.publicKey, central: o.central, allowOpen: false, digests });
    } catch (e) {
      if (!(e instanceof UnusableInputError)) throw e;
      reasons.push({ kind: 'unusable', where: 'journal.jsonl', message: e.message });
    }
    if (report) {
      // The report must not name this worker's scratch path: every worker writes the same report.
      report = { ...report, shiftDir: expectedPrefix };
      if (report.verdict !== 'intact') {
        // Causes only: follow-on findings (`causedBy`) are in the report under their cause, and an
        // alert that lists them as reasons of their own would say the shift failed more ways than it did.
        for (const f of report.findings.filter((x: Finding) => x.severity === 'error' && x.causedBy === undefined)) reasons.push({ kind: f.kind, where: f.where, message: `${f.category}: ${f.message}` });
        if (!reasons.length) reasons.push({ kind: report.verdict, where: expectedPrefix, message: report.summary });
      }
      if (report.deviceId !== ref.deviceId) reasons.push({ kind: 'device_mismatch', where: 'journal.jsonl:1', message: `the journal names device ${JSON.stringify(report.deviceId)}, uploaded by ${ref.deviceId}` });
    }
    if (reasons.length) return refuse(reasons, bytes, m.files.length, report);
    return { ...base, verdict: 'verified', reasons: [], bytes, objects: m.files.length, report };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
