// The purge the server's timer and `tessera purge` both run: ended sessions through the library (short
// batches, yielding between them), then expired DPoP proofs and authorization codes.
import type { Tessera } from '@tessera/auth';
import type { Kysely } from 'kysely';
import { purgeOAuth } from '../oauth/oauth-runtime.js';
import type { ServerDatabase } from './schema.js';

/** What one purge did, for its log line (docs/operations.md "Purge and disk space"). */
export interface PurgeReport {
  /** Sessions deleted. */
  readonly deleted: number;
  /** DPoP proofs and authorization codes deleted. */
  readonly oauthRows: number;
  /** Batches of the session purge (deletes and incremental-vacuum steps). */
  readonly batches: number;
  /** Wall time of the whole purge, in ms. */
  readonly ms: number;
  /** The longest single batch, in ms: how long a request may have waited behind the purge. */
  readonly worstBatchMs: number;
  /** Stopped by the signal before the end. */
  readonly stopped: boolean;
}

export async function purgeEnded(
  parts: { readonly auth: Tessera; readonly db: Kysely<ServerDatabase>; readonly now: () => number },
  signal?: AbortSignal,
): Promise<PurgeReport> {
  const began = performance.now();
  let batches = 0;
  let worst = 0;
  const deleted = await parts.auth.purgeSessions({
    ...(signal === undefined ? {} : { signal }),
    onBatch: ({ ms }) => {
      batches++;
      worst = Math.max(worst, ms);
    },
  });
  const oauthRows = await purgeOAuth(parts.db, parts.now(), signal === undefined ? {} : { signal });
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  return { deleted, oauthRows, batches, ms: round(performance.now() - began), worstBatchMs: round(worst), stopped: signal?.aborted === true };
}
