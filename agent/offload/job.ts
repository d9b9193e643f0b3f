/**
 * One offload job = one closed shift: load (or make once) its manifest, then run the uploader
 * with the persisted state. Used by the upload worker process, by tests and by the benchmark.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../lib/atomic.js';
import { EvidenceError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { buildManifest, manifestBytes, sha256Hex, MANIFEST_FORMAT, type Manifest } from './manifest.js';
import { createS3Client, type S3Target } from './s3.js';
import { liveUploads, loadUploadState, manifestPath } from './state.js';
import { ShiftUploader, type UploadResult, type UploaderEvents } from './uploader.js';

export interface OffloadJob {
  readonly dataDir: string;
  readonly shiftId: string;
  readonly shiftDir: string;
  readonly deviceId: string;
  readonly target: S3Target;
  readonly bucket: string;
  readonly keyPrefix: string;
  readonly partSizeBytes: number;
  /** Files in flight at once (default 4). */
  readonly concurrency?: number;
  readonly bandwidthKbps: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

export interface PreparedManifest {
  readonly manifest: Manifest;
  readonly bytes: Buffer;
  readonly sha256: string;
  readonly path: string;
}

/** `<keyPrefix>/<deviceId>/<shiftId>/` — the shift's folder in the bucket. */
export const shiftKeyPrefix = (keyPrefix: string, deviceId: string, shiftId: string): string =>
  `${keyPrefix ? keyPrefix + '/' : ''}${deviceId}/${shiftId}/`;

/** The manifest of a shift: read back when it exists (its bytes must never change), else made and persisted. */
export async function prepareManifest(dataDir: string, shiftId: string, shiftDir: string, deviceId: string, keyPrefix: string, nowMs = Date.now()): Promise<PreparedManifest> {
  const path = manifestPath(dataDir, shiftId);
  let bytes: Buffer | undefined;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (bytes) {
    const manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
    if (manifest.format !== MANIFEST_FORMAT || manifest.shiftId !== shiftId || !Array.isArray(manifest.files)) {
      throw new EvidenceError(`${path} is not a manifest of shift ${shiftId}`);
    }
    return { manifest, bytes, sha256: sha256Hex(bytes), path };
  }
  const manifest = await buildManifest(shiftDir, deviceId, shiftId, shiftKeyPrefix(keyPrefix, deviceId, shiftId), nowMs);
  bytes = manifestBytes(manifest);
  writeFileAtomic(path, bytes);
  return { manifest, bytes, sha256: sha256Hex(bytes), path };
}

export interface RunHooks {
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Overrides the job's fixed limit (the worker gets policy changes from the agent). */
  readonly bandwidthKbps?: () => number;
  readonly on?: {
    readonly progress?: (...a: UploaderEvents['progress']) => void;
    readonly part?: (...a: UploaderEvents['part']) => void;
    readonly retry?: (...a: UploaderEvents['retry']) => void;
  };
  /** Called once the manifest is known, before any byte is sent. */
  readonly onManifest?: (m: PreparedManifest, bytesTotal: number, resumed: boolean) => void;
}

export async function runOffloadJob(job: OffloadJob, hooks: RunHooks): Promise<UploadResult> {
  const pm = await prepareManifest(job.dataDir, job.shiftId, job.shiftDir, job.deviceId, job.keyPrefix);
  const s3 = createS3Client(job.target);
  try {
    const prefix = pm.manifest.keyPrefix;
    const state = loadUploadState(job.dataDir, job.shiftId);
    const up = new ShiftUploader({
      s3, bucket: job.bucket, dataDir: job.dataDir, shiftId: job.shiftId, shiftDir: job.shiftDir,
      manifest: pm.manifest, manifestPath: pm.path, manifestSha256: pm.sha256, manifestBytes: pm.bytes.length,
      keyOf: (name) => prefix + name,
      // What live offload stored while the shift recorded is not sent again (docs/live-offload.md).
      adopt: liveUploads(job.dataDir, job.shiftId),
      partSizeBytes: job.partSizeBytes,
      concurrency: job.concurrency,
      bandwidthKbps: hooks.bandwidthKbps ?? (() => job.bandwidthKbps),
      retryInitialMs: job.retryInitialMs, retryMaxMs: job.retryMaxMs,
      state,
      log: hooks.log,
      signal: hooks.signal,
    });
    if (hooks.on?.progress) up.on('progress', hooks.on.progress);
    if (hooks.on?.part) up.on('part', hooks.on.part);
    if (hooks.on?.retry) up.on('retry', hooks.on.retry);
    hooks.onManifest?.(pm, up.bytesTotal, (state?.stats.runs ?? 0) > 0);
    return await up.run();
  } finally {
    s3.destroy();
  }
}
