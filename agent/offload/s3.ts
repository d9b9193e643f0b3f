/**
 * The S3 client as the offload needs it against Ceph RGW 16 and AWS alike (NOTES-DEPS):
 * - checksums only when required: the SDK's default streamed body with a trailing checksum is
 *   refused by Ceph 16 with 411; parts are sent with Content-Length, Content-MD5 and
 *   x-amz-checksum-sha256 computed by us;
 * - no SDK-internal retries (maxAttempts 1): a paced part body is a one-shot stream, and every
 *   retry goes through agent/lib/backoff.ts so pacing is tuned in one place.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { OffloadCredentials } from './config.js';

export interface S3Target {
  readonly endpoint: string;
  readonly region: string;
  readonly forcePathStyle: boolean;
  readonly credentials: OffloadCredentials;
  readonly requestTimeoutMs?: number;
}

export function createS3Client(t: S3Target): S3Client {
  return new S3Client({
    endpoint: t.endpoint,
    region: t.region,
    forcePathStyle: t.forcePathStyle,
    credentials: { accessKeyId: t.credentials.accessKeyId, secretAccessKey: t.credentials.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    // Handler options as a plain object: the SDK builds its Node handler from them.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: t.requestTimeoutMs ?? 60_000 },
  });
}

/** The HTTP status of an SDK error, if it carries one. */
export function httpStatus(e: unknown): number | undefined {
  const m = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return typeof m?.httpStatusCode === 'number' ? m.httpStatusCode : undefined;
}

/** The S3 error code (`NoSuchUpload`, `AccessDenied`, …) of an SDK error. */
export function s3ErrorName(e: unknown): string | undefined {
  const n = (e as { name?: unknown; Code?: unknown } | null);
  if (typeof n?.Code === 'string') return n.Code;
  return typeof n?.name === 'string' ? n.name : undefined;
}
