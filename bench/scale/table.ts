// The one growth table of bench/scale: a row per figure, a column per database and size, and per database the ratio
// of its largest size to its smallest (how the figure grew).
import type { ScaleResult } from './result.js';
import { OPERATIONS } from './store-ops.js';

type Cell = number | null;
interface Row {
  readonly label: string;
  readonly cell: (r: ScaleResult) => Cell;
  readonly digits: number;
}

const purged = (f: ScaleResult['storePurge'], key: 'ms' | 'stallMs' | 'deleted'): Cell => ('error' in f ? null : f[key]);

const ROWS: readonly Row[] = [
  { label: 'users', cell: (r) => r.users, digits: 0 },
  { label: 'build, s', cell: (r) => r.buildSeconds, digits: 1 },
  { label: 'bytes per session', cell: (r) => r.bytesPerSession, digits: 0 },
  ...OPERATIONS.flatMap((op): Row[] => [
    { label: `${op} p50, ms`, cell: (r) => r.operations[op].p50Ms, digits: 3 },
    { label: `${op} p99, ms`, cell: (r) => r.operations[op].p99Ms, digits: 3 },
  ]),
  { label: 'store purge: deleted', cell: (r) => purged(r.storePurge, 'deleted'), digits: 0 },
  { label: 'store purge, ms', cell: (r) => purged(r.storePurge, 'ms'), digits: 0 },
  { label: 'store purge: worst stall, ms', cell: (r) => purged(r.storePurge, 'stallMs'), digits: 0 },
  { label: 'empty purge, ms', cell: (r) => purged(r.storePurgeEmpty, 'ms'), digits: 0 },
  { label: 'empty purge: worst stall, ms', cell: (r) => purged(r.storePurgeEmpty, 'stallMs'), digits: 0 },
  { label: 'server RSS after warm load, MiB', cell: (r) => r.server.rssMiB, digits: 1 },
  { label: 'refresh/s idle', cell: (r) => r.server.idle.refreshPerSecond, digits: 0 },
  { label: 'refresh/s during purge', cell: (r) => r.server.purge.refreshPerSecond, digits: 0 },
  { label: 'refresh p99 idle, ms', cell: (r) => r.server.idle.refreshP99Ms, digits: 1 },
  { label: 'refresh p99 during purge, ms', cell: (r) => r.server.purge.refreshP99Ms, digits: 1 },
  { label: 'slowest refresh during purge, ms', cell: (r) => r.server.purge.refreshMaxMs ?? null, digits: 1 },
  { label: '/auth/me p99 idle, ms', cell: (r) => r.server.idle.meP99Ms, digits: 1 },
  { label: '/auth/me p99 during purge, ms', cell: (r) => r.server.purge.meP99Ms, digits: 1 },
  { label: 'errors during purge (refresh + me)', cell: (r) => r.server.purge.refreshErrors + r.server.purge.meErrors, digits: 0 },
  { label: 'server loop stall idle, ms', cell: (r) => r.server.idle.stall.maxMs, digits: 0 },
  { label: 'server loop stall during purge, ms', cell: (r) => r.server.purge.stall.maxMs, digits: 0 },
  { label: 'server purge seen from outside, ≤ ms', cell: (r) => r.server.purge.observedMs, digits: 0 },
  { label: '  (uncertainty: server start, ms)', cell: (r) => r.server.purge.startupMs, digits: 0 },
  { label: 'server purge, first to last sample gone, ms', cell: (r) => r.server.purge.sampledGoneMs, digits: 0 },
  { label: 'server purge window, s', cell: (r) => r.server.purge.seconds, digits: 1 },
  { label: 'server purge, its own figure: ms', cell: (r) => r.server.purge.log?.ms ?? null, digits: 0 },
  { label: 'server purge, its own figure: batches', cell: (r) => r.server.purge.log?.batches ?? null, digits: 0 },
  { label: 'server purge, its own figure: worst batch, ms', cell: (r) => r.server.purge.log?.worstBatchMs ?? null, digits: 1 },
];

const short = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
const format = (x: Cell, digits: number): string =>
  x === null || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function printGrowthTable(results: readonly ScaleResult[]): void {
  const databases = [...new Set(results.map((r) => r.database))];
  const heads: string[] = [];
  const columns: ((row: Row) => string)[] = [];
  for (const db of databases) {
    const mine = results.filter((r) => r.database === db);
    for (const r of mine) {
      heads.push(`${db === 'SQLite' ? 'SQLite' : 'PG+Redis'} ${short(r.sessions)}`);
      columns.push((row) => format(row.cell(r), row.digits));
    }
    if (mine.length > 1) {
      const first = mine[0]!;
      const last = mine.at(-1)!;
      heads.push(`× ${short(last.sessions)}/${short(first.sessions)}`);
      columns.push((row) => {
        const a = row.cell(first);
        const b = row.cell(last);
        return a === null || b === null || a === 0 ? '' : `${(b / a).toFixed(2)}×`;
      });
    }
  }
  const labelWidth = Math.max(...ROWS.map((r) => r.label.length));
  const cells = ROWS.map((row) => columns.map((c) => c(row)));
  const widths = heads.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  console.log('\nGrowth table (store operations in-process, one call at a time; server: a `tessera serve` child)');
  console.log(`  ${''.padEnd(labelWidth)}  ${heads.map((h, i) => h.padStart(widths[i]!)).join('  ')}`);
  ROWS.forEach((row, n) => console.log(`  ${row.label.padEnd(labelWidth)}  ${cells[n]!.map((c, i) => c.padStart(widths[i]!)).join('  ')}`));
  for (const r of results) {
    const errors = [r.storePurge, r.storePurgeEmpty].filter((f): f is { error: string } => 'error' in f);
    for (const e of errors) console.log(`  note: ${r.database} ${short(r.sessions)}: store purge failed: ${e.error}`);
    if (r.server.purge.log?.failed != null)
      console.log(`  note: ${r.database} ${short(r.sessions)}: the server's purge failed: ${r.server.purge.log.failed}`);
    if (r.server.purge.ranEarly)
      console.log(`  note: ${r.database} ${short(r.sessions)}: the ended sessions were gone before the purge window (purged at start?)`);
    else if (r.server.purge.observedMs === null)
      console.log(`  note: ${r.database} ${short(r.sessions)}: the server's purge did not end within the window`);
  }
}
