/**
 * A per-shift claim, so that two workers do not verify (and confirm) the same shift at once.
 *
 * Ceph RGW 16 ignores `If-None-Match: *` on PUT, so a conditional create is not available. The
 * bucket is versioned (Object Lock requires it), and the bucket index orders the versions of one
 * key consistently for every reader: each claimant writes a version of `claim`, lists the
 * versions, and the OLDEST version still fresh (written within `ttl` before its own) wins. Two
 * claimants racing both see the same oldest version, whatever the interleaving of their writes
 * and listings; a claim older than `ttl` is a dead worker's, and the next claimant takes over.
 * The winner's worker id is read from the version's metadata, so a worker restarted under the
 * same id resumes its own claim at once instead of waiting for it to expire.
 */
import type { EvidenceStore, ShiftRef } from './store.js';

export const CLAIM_FILE = 'claim';

export type ClaimOutcome = { readonly won: true } | { readonly won: false; readonly holder: string; readonly sinceMs: number };

export async function claimShift(store: EvidenceStore, ref: ShiftRef, workerId: string, ttlMs: number): Promise<ClaimOutcome> {
  const key = store.resultKey(ref, CLAIM_FILE);
  const mine = await store.put(key, JSON.stringify({ worker: workerId, at: new Date().toISOString() }) + '\n', 'application/json', { worker: workerId });
  const all = await store.versions(key);
  const own = all.find((v) => v.versionId === mine);
  // Our own version must be listed (read-after-write on one key); if not, claim nothing.
  if (!own) return { won: false, holder: '(unlisted)', sinceMs: Date.now() };
  const fresh = all.filter((v) => v.lastModified >= own.lastModified - ttlMs);
  // Newest first: the last fresh entry is the oldest fresh claim.
  const oldest = fresh[fresh.length - 1]!;
  if (oldest.versionId === mine) return { won: true };
  const holder = (await store.metadata(key, oldest.versionId))?.worker ?? '(unknown)';
  if (holder === workerId) return { won: true };
  return { won: false, holder, sinceMs: oldest.lastModified };
}
