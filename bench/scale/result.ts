// What bench/scale measures at one N on one database: the shape of each row of bench/results/scale.json.
import type { ServerFigures } from './server-run.js';
import type { Latency, Operation, PurgeFigures } from './store-ops.js';

export interface ScaleResult {
  readonly database: 'SQLite' | 'Postgres + Redis';
  readonly sessions: number;
  readonly users: number;
  readonly buildSeconds: number;
  /** SQLite: file + WAL; Postgres: pg_total_relation_size of the sessions table; divided by the sessions. */
  readonly bytesPerSession: number;
  readonly operations: Record<Operation, Latency>;
  /** The store's purge in this process with half the sessions ended, then again with nothing to delete. */
  readonly storePurge: PurgeFigures | { readonly error: string };
  readonly storePurgeEmpty: PurgeFigures | { readonly error: string };
  readonly server: ServerFigures;
}
