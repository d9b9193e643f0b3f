/**
 * Offload bookkeeping under `<data-dir>/offload/<shift-id>/` (outside the shift dir, which holds
 * evidence only):
 *   manifest.json   the manifest, written once (its bytes are what central confirms)
 *   upload.json     the upload's progress: per file the multipart upload id and the parts sent
 *                   (written atomically after every part by the upload worker; resume reads it and
 *                   asks the server's ListParts what actually arrived)
 *   receipt.json    central's confirmation and the local deletion (written by the agent)
 */
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../lib/atomic.js';
import { EvidenceError } from '../lib/errors.js';

export const offloadRoot = (dataDir: string): string => join(dataDir, 'offload');
export const offloadDir = (dataDir: string, shiftId: string): string => join(offloadRoot(dataDir), shiftId);

export interface PartRecord {
  readonly n: number;
  readonly size: number;
  /** Hex MD5 of the part (what S3 returns as the part's ETag; sent base64 as Content-MD5). */
  readonly md5: string;
  /** Base64 SHA-256 of the part (sent as x-amz-checksum-sha256; Ceph 16 does not check it). */
  readonly sha256: string;
  readonly etag: string;
}

export interface FileUploadState {
  readonly key: string;
  uploadId?: string;
  /** Part size this upload was cut with (a config change must not re-slice an upload in progress). */
  partSize?: number;
  /** Set (and persisted) before CompleteMultipartUpload is sent: a vanished upload then means "completed". */
  completing?: boolean;
  done?: boolean;
  versionId?: string;
  parts: PartRecord[];
}

export interface UploadState {
  version: 1;
  shiftId: string;
  bucket: string;
  manifestSha256: string;
  files: Record<string, FileUploadState>;
  completedAt?: string;
  /** Counters over all runs: what was transmitted and what a resume found already on the server. */
  stats: { runs: number; partsSent: number; bytesSent: number; partsReused: number; uploadsRestarted: number };
}

export interface Receipt {
  version: 1;
  shiftId: string;
  manifestSha256: string;
  confirmedAt?: string;
  /** Who/what confirmed (e.g. `central:mqtt`). */
  confirmedVia?: string;
  deletedAt?: string;
  deletedFiles?: number;
  deletedBytes?: number;
}

export const uploadStatePath = (dataDir: string, shiftId: string): string => join(offloadDir(dataDir, shiftId), 'upload.json');
export const receiptPath = (dataDir: string, shiftId: string): string => join(offloadDir(dataDir, shiftId), 'receipt.json');
export const manifestPath = (dataDir: string, shiftId: string): string => join(offloadDir(dataDir, shiftId), 'manifest.json');

/** readJsonIfExists with the file named in the error (a bare "Unexpected end of JSON input" helps nobody). */
function readState(path: string): unknown {
  try {
    return readJsonIfExists(path);
  } catch (e) {
    throw new EvidenceError(`${path}: unreadable offload state (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
}

function check<T>(v: unknown, path: string, ok: (o: Record<string, unknown>) => boolean): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || !ok(v as Record<string, unknown>)) throw new EvidenceError(`${path} is not a valid offload state file`);
  return v as T;
}

export function loadUploadState(dataDir: string, shiftId: string): UploadState | undefined {
  const p = uploadStatePath(dataDir, shiftId);
  return check<UploadState>(readState(p), p, (o) => o.version === 1 && typeof o.files === 'object' && typeof o.stats === 'object');
}

export function saveUploadState(dataDir: string, s: UploadState): void {
  writeJsonAtomic(uploadStatePath(dataDir, s.shiftId), s);
}

export function loadReceipt(dataDir: string, shiftId: string): Receipt | undefined {
  const p = receiptPath(dataDir, shiftId);
  return check<Receipt>(readState(p), p, (o) => o.version === 1 && typeof o.manifestSha256 === 'string');
}

export function saveReceipt(dataDir: string, r: Receipt): void {
  writeJsonAtomic(receiptPath(dataDir, r.shiftId), r);
}
