/**
 * The evidence store as ingest sees it, with the operator's credentials: read a shift's objects,
 * list recent uploads, write results under the result prefix. Keys:
 *   `<keyPrefix>/<deviceId>/<shiftId>/<file>`          what the device uploaded (manifest.json last)
 *   `<resultPrefix>/<deviceId>/<shiftId>/<file>`       what ingest writes (claim, report, result, confirm)
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client, httpStatus, s3ErrorName } from '../../agent/offload/s3.js';
import type { IngestS3Config } from './config.js';

export interface ShiftRef {
  readonly deviceId: string;
  readonly shiftId: string;
}

export interface ObjectVersion {
  readonly versionId: string;
  readonly lastModified: number;
}

/** Shift ids begin with their UTC start (`20261122T170059Z-…`): listings can start after a time. */
import { SHIFT_ID } from '../../agent/evidence/shift-id.js';
export { SHIFT_ID };
export const shiftStamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

const isMissing = (e: unknown): boolean => httpStatus(e) === 404 || s3ErrorName(e) === 'NoSuchKey' || s3ErrorName(e) === 'NotFound';

export class EvidenceStore {
  private readonly s3: S3Client;

  constructor(private readonly cfg: IngestS3Config) {
    this.s3 = createS3Client({
      endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: cfg.forcePathStyle, requestTimeoutMs: cfg.requestTimeoutMs,
      credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
    });
  }

  get bucket(): string {
    return this.cfg.bucket;
  }

  shiftKey(r: ShiftRef, file: string): string {
    return `${this.cfg.keyPrefix}/${r.deviceId}/${r.shiftId}/${file}`;
  }

  resultKey(r: ShiftRef, file: string): string {
    return `${this.cfg.resultPrefix}/${r.deviceId}/${r.shiftId}/${file}`;
  }

  /** An object's bytes, or undefined when there is none. */
  async get(key: string): Promise<Buffer | undefined> {
    return (await this.getVersion(key))?.bytes;
  }

  /**
   * One version of an object (the latest without `versionId`) with the version id the store
   * served: what ingest verified is pinned by it, because a camera keeps PutObject on its prefix
   * and may write a new version after the verdict.
   */
  async getVersion(key: string, versionId?: string): Promise<{ bytes: Buffer; versionId: string } | undefined> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key, VersionId: versionId }));
      return { bytes: Buffer.from(await r.Body!.transformToByteArray()), versionId: r.VersionId ?? 'null' };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  /**
   * Streams one version of an object (the latest without `versionId`) to a file (bounded memory
   * for long shifts); its version id, or undefined when it is missing.
   */
  async download(key: string, path: string, versionId?: string): Promise<string | undefined> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key, VersionId: versionId }));
      await pipeline(r.Body as Readable, createWriteStream(path));
      return r.VersionId ?? 'null';
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: key }));
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  }

  /** The `x-amz-meta-*` of one version of an object. */
  async metadata(key: string, versionId?: string): Promise<Record<string, string> | undefined> {
    try {
      const r = await this.s3.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: key, VersionId: versionId }));
      return r.Metadata ?? {};
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  /** Writes an object; returns its version id (the bucket is versioned: Object Lock). */
  async put(key: string, body: string | Buffer, contentType: string, meta: Record<string, string> = {}): Promise<string> {
    const r = await this.s3.send(new PutObjectCommand({ Bucket: this.cfg.bucket, Key: key, Body: body, ContentType: contentType, Metadata: meta }));
    return r.VersionId ?? 'null';
  }

  /** Every version of exactly one key, newest first (the bucket index's order). */
  async versions(key: string): Promise<ObjectVersion[]> {
    const out: ObjectVersion[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const r = await this.s3.send(new ListObjectVersionsCommand({ Bucket: this.cfg.bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
      for (const v of r.Versions ?? []) if (v.Key === key) out.push({ versionId: v.VersionId ?? 'null', lastModified: v.LastModified?.getTime() ?? 0 });
      if (!r.IsTruncated) return out;
      keyMarker = r.NextKeyMarker;
      versionMarker = r.NextVersionIdMarker;
    }
  }

  private async commonPrefixes(prefix: string, startAfter?: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    for (;;) {
      const r = await this.s3.send(new ListObjectsV2Command({
        Bucket: this.cfg.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token, StartAfter: token ? undefined : startAfter,
      }));
      for (const p of r.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix.slice(prefix.length).replace(/\/$/, ''));
      if (!r.IsTruncated || !r.NextContinuationToken) return out;
      token = r.NextContinuationToken;
    }
  }

  /** Object keys under `prefix` after `startAfter` (a key), in key order: one page at a time, all of them. */
  async keysAfter(prefix: string, startAfter?: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    for (;;) {
      const r = await this.s3.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: prefix, ContinuationToken: token, StartAfter: token ? undefined : startAfter }));
      for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key);
      if (!r.IsTruncated || !r.NextContinuationToken) return out;
      token = r.NextContinuationToken;
    }
  }

  /**
   * Shifts uploaded under the device prefix whose id starts at or after `sinceMs`: one listing of
   * devices, then one listing per device that starts at the cutoff (shift ids sort by start time).
   */
  async recentShifts(sinceMs: number): Promise<ShiftRef[]> {
    const root = `${this.cfg.keyPrefix}/`;
    const out: ShiftRef[] = [];
    const stamp = shiftStamp(sinceMs);
    for (const deviceId of await this.commonPrefixes(root)) {
      const devPrefix = `${root}${deviceId}/`;
      for (const shiftId of await this.commonPrefixes(devPrefix, devPrefix + stamp)) if (SHIFT_ID.test(shiftId)) out.push({ deviceId, shiftId });
    }
    return out;
  }

  destroy(): void {
    this.s3.destroy();
  }
}
