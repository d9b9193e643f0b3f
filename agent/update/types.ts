/** The update room's outside: what status shows, what a request carries, what the daemon holds. */
import type { WaitReason } from './decide.js';
import type { Last, Pending } from './state.js';

/** What a request carries: a local bundle (bench) or a URL with its hash (central's command). */
export type UpdateRequest =
  | { readonly kind: 'file'; readonly path: string; readonly allowDowngrade: boolean; readonly source: string }
  | { readonly kind: 'url'; readonly url: string; readonly sha256: string; readonly version: string; readonly allowDowngrade: boolean; readonly source: string };

export interface UpdateStatus {
  bootedSlot: string | null;
  version: string;
  phase: 'idle' | Pending['phase'] | 'unavailable';
  waitingFor: WaitReason | null;
  pendingVersion: string | null;
  last: Last | null;
}

/** What the commands extension calls (service `update`). */
export interface UpdateService {
  request(r: UpdateRequest): Promise<{ accepted: boolean; reason: string }>;
}

/** The part the daemon keeps (parts.update) and the rooms reach. */
export interface UpdatePart extends UpdateService {
  start(): Promise<void>;
  ready(): Promise<void>;
  drain(): void;
  status(): UpdateStatus;
}
