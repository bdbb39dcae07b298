// The one benchmark harness every benchmark under bench/ reuses (docs/architecture.md "Conventions": side by side with the peers, in one
// process, reported as ratios). Cases run interleaved, round after round, so that the noise of a 2-core shared
// machine hits every case of a group alike; a figure is the median over rounds, and a ratio is the median of the
// per-round ratios to the group's baseline (both measured in the same round, so a slow round cancels out).
// Long on purpose: measuring, interleaving, medians, ratios and the report are one harness that
// every benchmark shares.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** How long and how often each case runs. */
export interface BenchOptions {
  /** Interleaved rounds; each case is timed once per round. */
  readonly rounds: number;
  /** Target time of one case in one round, in milliseconds. */
  readonly timeMs: number;
  /** Warm-up (JIT, caches) per case before the first round, in milliseconds. */
  readonly warmupMs: number;
  /** Only cases whose "group › case" matches run (each group's baseline always runs). */
  readonly filter: RegExp | undefined;
}

/** A measured function: sync, or returning a promise (awaited one call at a time, as a server would). */
export type BenchFn = () => unknown;

/**
 * A case that measures itself once per round and returns its rate in operations per second (e.g. an HTTP load
 * run whose requests/s the load tool reports). It must throw when the run went wrong (errors, non-2xx answers).
 */
export type BenchMeasure = () => number | Promise<number>;

/** Checks a case's first result before any timing: a broken case must fail loudly, never look fast. */
export type BenchCheck = (result: unknown) => void;

/** A ratio a case must reach against its group's baseline; reported as PASS or MISS, never asserted. */
export interface BenchTarget {
  readonly group: string;
  readonly case: string;
  /** The least acceptable median ratio to the baseline (e.g. 0.95). */
  readonly atLeast: number;
  readonly label: string;
}

/** The measured figures of one case. */
export interface CaseReport {
  readonly name: string;
  readonly baseline: boolean;
  /** How the case was timed: a sync or async function by the harness, or a self-measuring run. */
  readonly kind: 'sync' | 'async' | 'measured';
  /** Operations timed per round (calibrated in the warm-up to last about `timeMs`); 0 for a measured case. */
  readonly opsPerRound: number;
  /** ops/s of each round (wall clock), in round order. */
  readonly samples: readonly number[];
  /**
   * Operations per second of process CPU time (user + system, all threads) of each round: blind to time the process
   * spent descheduled. Empty for a measured case.
   */
  readonly cpuSamples: readonly number[];
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly min: number;
  readonly max: number;
  /** Median time per operation in microseconds (1e6 / median). */
  readonly microsPerOp: number;
  /** Per-round ratios to the baseline; their median, lowest and highest. */
  readonly ratio: Ratio;
  /** The same ratios computed from CPU time; null when the case or the baseline measured itself. */
  readonly cpuRatio: Ratio | null;
}

export interface Ratio {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export interface GroupReport {
  readonly name: string;
  readonly baseline: string;
  readonly notes: readonly string[];
  readonly cases: readonly CaseReport[];
}

export interface TargetResult extends BenchTarget {
  /** Median wall-clock ratio. */
  readonly ratio: number | undefined;
  /** Median CPU-time ratio; PASS or MISS is decided on it when there is one (else on the wall-clock ratio). */
  readonly cpuRatio: number | undefined;
  readonly pass: boolean;
}

export interface SuiteReport {
  readonly name: string;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly environment: Record<string, unknown>;
  readonly options: {
    readonly rounds: number;
    readonly timeMs: number;
    readonly warmupMs: number;
    readonly filter: string | null;
  };
  readonly groups: readonly GroupReport[];
  readonly targets: readonly TargetResult[];
}

type CaseDef =
  | { readonly kind: 'fn'; readonly name: string; readonly fn: BenchFn; readonly check: BenchCheck | undefined }
  | { readonly kind: 'measured'; readonly name: string; readonly measure: BenchMeasure };

const QUICK: Pick<BenchOptions, 'rounds' | 'timeMs' | 'warmupMs'> = { rounds: 3, timeMs: 60, warmupMs: 60 };
const FULL: Pick<BenchOptions, 'rounds' | 'timeMs' | 'warmupMs'> = { rounds: 30, timeMs: 50, warmupMs: 400 };

/**
 * Reads the knobs from the command line (`--rounds 9 --time 250 --warmup 400 --quick --filter RE`) or the
 * environment (`BENCH_ROUNDS`, `BENCH_TIME`, `BENCH_WARMUP`, `BENCH_QUICK=1`, `BENCH_FILTER`); flags win.
 * @example const options = benchOptions(); // BENCH_QUICK=1 npm run bench for a smoke run
 */
export function benchOptions(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rounds: { type: 'string' },
      time: { type: 'string' },
      warmup: { type: 'string' },
      quick: { type: 'boolean' },
      filter: { type: 'string' },
    },
    allowPositionals: false,
  });
  const quick = values.quick === true || (env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== '' && env.BENCH_QUICK !== '0');
  const base = quick ? QUICK : FULL;
  const number = (flag: string | undefined, variable: string | undefined, fallback: number, min: number): number => {
    const raw = flag ?? variable;
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new RangeError(`Benchmark option ${raw} is not a number of at least ${min}.`);
    return value;
  };
  const filter = values.filter ?? env.BENCH_FILTER;
  return {
    rounds: Math.round(number(values.rounds, env.BENCH_ROUNDS, base.rounds, 1)),
    timeMs: number(values.time, env.BENCH_TIME, base.timeMs, 1),
    warmupMs: number(values.warmup, env.BENCH_WARMUP, base.warmupMs, 0),
    filter: filter === undefined || filter === '' ? undefined : new RegExp(filter, 'i'),
  };
}

/** Cases compared with each other: one of them is the baseline every ratio is taken against. */
export class BenchGroup {
  readonly name: string;
  readonly baseline: string;
  readonly #cases: CaseDef[] = [];
  readonly #notes: string[] = [];

  constructor(name: string, baseline: string) {
    this.name = name;
    this.baseline = baseline;
  }

  /** Adds a case; `check` receives the (awaited) result of one call made before any timing. */
  add(name: string, fn: BenchFn, check?: BenchCheck): this {
    this.#unique(name);
    this.#cases.push({ kind: 'fn', name, fn, check });
    return this;
  }

  /** Adds a self-measuring case (one call per round returns ops/s); it is called once untimed as a warm-up. */
  addMeasured(name: string, measure: BenchMeasure): this {
    this.#unique(name);
    this.#cases.push({ kind: 'measured', name, measure });
    return this;
  }

  /** A line printed under the group's table (what a case leaves out, why a peer is missing). */
  note(text: string): this {
    this.#notes.push(text);
    return this;
  }

  #unique(name: string): void {
    if (this.#cases.some((c) => c.name === name)) throw new Error(`Case "${name}" is already in group "${this.name}".`);
  }

  /** @internal */
  get cases(): readonly CaseDef[] {
    return this.#cases;
  }

  /** @internal */
  get notes(): readonly string[] {
    return this.#notes;
  }
}

/**
 * A named benchmark: groups of cases, targets, one printed table per group and a JSON report in
 * bench/results/<name>.json.
 * @example
 * const suite = new BenchSuite('verify');
 * suite.group('verify HS256', 'floor').add('floor', () => floor(token), check).add('Tessera', () => auth.verifyAccessToken(token), check);
 * suite.target({ group: 'verify HS256', case: 'Tessera', atLeast: 0.95, label: 'Tessera ≥ 0.95× floor' });
 * await suite.run();
 */
export class BenchSuite {
  readonly name: string;
  readonly options: BenchOptions;
  readonly #groups: BenchGroup[] = [];
  readonly #targets: BenchTarget[] = [];

  constructor(name: string, options: BenchOptions = benchOptions()) {
    if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`A suite name is a file name: lower-case letters, digits and dashes (got "${name}").`);
    this.name = name;
    this.options = options;
  }

  /** A new group whose ratios are taken against its case named `baseline`. */
  group(name: string, baseline: string): BenchGroup {
    if (this.#groups.some((g) => g.name === name)) throw new Error(`Group "${name}" already exists.`);
    const group = new BenchGroup(name, baseline);
    this.#groups.push(group);
    return group;
  }

  /** Registers a target ratio, checked and printed after the run and kept in the JSON report. */
  target(target: BenchTarget): this {
    this.#targets.push(target);
    return this;
  }

  /** Checks every case, runs the groups one after the other (cases interleaved within each), prints and saves. */
  async run(): Promise<SuiteReport> {
    const { rounds, timeMs, warmupMs, filter } = this.options;
    const started = performance.now();
    const startedAt = new Date().toISOString();
    const loadAtStart = loadavg();
    console.log(
      `\n${this.name}: ${rounds} rounds × ${timeMs} ms per case (warm-up ${warmupMs} ms), cases interleaved; ` +
        `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, load ${loadavg()[0]!.toFixed(2)}`,
    );

    const groups: GroupReport[] = [];
    for (const group of this.#groups) {
      const selected = group.cases.filter((c) => c.name === group.baseline || filter === undefined || filter.test(`${group.name} › ${c.name}`));
      if (selected.length <= 1 && filter !== undefined) continue;
      if (!selected.some((c) => c.name === group.baseline)) throw new Error(`Group "${group.name}" has no baseline case "${group.baseline}".`);
      const report = await runGroup(group, selected, this.options);
      printGroup(report);
      groups.push(report);
    }

    const targets = checkTargets(groups, this.#targets);
    if (targets.length > 0 && rounds < 10) console.log(`  (${rounds} rounds: a smoke run; its ratios are too rough to judge a target by)`);
    const report: SuiteReport = {
      name: this.name,
      startedAt,
      durationSeconds: Math.round((performance.now() - started) / 100) / 10,
      environment: environment(loadAtStart),
      options: { rounds, timeMs, warmupMs, filter: filter?.source ?? null },
      groups,
      targets,
    };
    const file = writeReport(report);
    console.log(`\nReport: ${file} (${report.durationSeconds} s)`);
    if (sink === SENTINEL) console.log('');
    return report;
  }
}

/**
 * Prints one PASS/MISS line per target with the measured median ratio. A report for people and CI logs,
 * never a test assertion: timings on shared 2-core machines are not pass/fail material. The verdict uses the
 * CPU-time ratio when both cases were timed by the harness: for CPU-bound code it does not count the time the
 * process sat descheduled behind other work, which on a loaded machine is most of the wall-clock noise.
 */
export function checkTargets(groups: readonly GroupReport[], targets: readonly BenchTarget[]): TargetResult[] {
  if (targets.length === 0) return [];
  console.log('\nTargets (median of per-round ratios; PASS/MISS on the CPU-time ratio, wall clock beside it):');
  const results: TargetResult[] = [];
  const width = Math.max(...targets.map((t) => t.group.length));
  const labelWidth = Math.max(...targets.map((t) => t.label.length));
  for (const target of targets) {
    const group = groups.find((g) => g.name === target.group);
    if (group === undefined) continue; // filtered out of this run
    const found = group.cases.find((c) => c.name === target.case);
    const ratio = found?.ratio.median;
    const cpuRatio = found?.cpuRatio?.median;
    const decisive = found?.cpuRatio ?? found?.ratio;
    const pass = decisive !== undefined && decisive.median >= target.atLeast;
    const figure =
      found === undefined || decisive === undefined
        ? 'not measured'
        : `${decisive.median.toFixed(2)}× ${found.cpuRatio === null ? 'wall' : 'CPU'} (IQR ${decisive.q1.toFixed(2)}–${decisive.q3.toFixed(2)})` +
          (found.cpuRatio === null ? '' : `, wall ${found.ratio.median.toFixed(2)}×`);
    console.log(`  ${pass ? 'PASS' : 'MISS'}  ${target.group.padEnd(width)}  ${target.label.padEnd(labelWidth)}  ${figure}`);
    results.push({ ...target, ratio, cpuRatio, pass });
  }
  return results;
}

// Results land here so that no measured call can be optimised away.
let sink: unknown;
const SENTINEL = Symbol('never produced by a case');

interface Prepared {
  readonly def: CaseDef;
  readonly kind: CaseReport['kind'];
  ops: number;
  readonly samples: number[];
  readonly cpuSamples: number[];
}

async function runGroup(group: BenchGroup, cases: readonly CaseDef[], options: BenchOptions): Promise<GroupReport> {
  const prepared: Prepared[] = [];
  for (const def of cases) {
    if (def.kind === 'measured') {
      prepared.push({ def, kind: 'measured', ops: 0, samples: [], cpuSamples: [] });
      continue;
    }
    // One checked call first: a case that throws or returns the wrong thing stops the run.
    let async = false;
    try {
      const first = def.fn();
      async = isPromise(first);
      def.check?.(async ? await first : first);
    } catch (cause) {
      throw new Error(`Case "${def.name}" in "${group.name}" failed its check before timing.`, { cause });
    }
    prepared.push({ def, kind: async ? 'async' : 'sync', ops: 1, samples: [], cpuSamples: [] });
  }

  for (const c of prepared) {
    if (c.def.kind === 'fn') c.ops = await calibrate(c, options);
    else if (options.warmupMs > 0) await c.def.measure();
  }

  for (let round = 0; round < options.rounds; round++) {
    // Rotate the order every round so that no case always follows the same neighbour.
    for (let i = 0; i < prepared.length; i++) {
      const c = prepared[(i + round) % prepared.length]!;
      if (c.def.kind === 'measured') {
        const rate = await c.def.measure();
        if (!Number.isFinite(rate) || rate <= 0) throw new Error(`Case "${c.def.name}" in "${group.name}" measured ${rate} ops/s.`);
        c.samples.push(rate);
        continue;
      }
      // An untimed tenth first: the case takes back the caches and settles into its own garbage-collection rhythm
      // before the clock starts. No forced gc() between cases: its concurrent sweeping is billed to whichever case
      // allocates next, which measurably penalised the allocation-heavier cases (0.77× instead of 0.98× here).
      await time(c, Math.ceil(c.ops / 10));
      const { wallMs, cpuMs } = await time(c, c.ops);
      c.samples.push((c.ops * 1000) / wallMs);
      c.cpuSamples.push((c.ops * 1000) / Math.max(cpuMs, 0.001));
    }
  }

  const base = prepared.find((c) => c.def.name === group.baseline)!;
  return {
    name: group.name,
    baseline: group.baseline,
    notes: group.notes,
    cases: prepared.map((c) => {
      const sorted = [...c.samples].sort((a, b) => a - b);
      const median = quantile(sorted, 0.5);
      return {
        name: c.def.name,
        baseline: c === base,
        kind: c.kind,
        opsPerRound: c.ops,
        samples: c.samples.map(round3),
        cpuSamples: c.cpuSamples.map(round3),
        median: round3(median),
        q1: round3(quantile(sorted, 0.25)),
        q3: round3(quantile(sorted, 0.75)),
        min: round3(sorted[0]!),
        max: round3(sorted[sorted.length - 1]!),
        microsPerOp: round3(1e6 / median),
        ratio: pairedRatio(c.samples, base.samples),
        cpuRatio: c.kind === 'measured' || base.kind === 'measured' ? null : pairedRatio(c.cpuSamples, base.cpuSamples),
      };
    }),
  };
}

/** Ratios of two cases measured in the same rounds, round by round: a slow round slows both and cancels out. */
function pairedRatio(samples: readonly number[], base: readonly number[]): Ratio {
  const ratios = samples.map((s, i) => s / base[i]!);
  const sorted = [...ratios].sort((a, b) => a - b);
  return {
    median: round3(quantile(sorted, 0.5)),
    q1: round3(quantile(sorted, 0.25)),
    q3: round3(quantile(sorted, 0.75)),
    min: round3(sorted[0]!),
    max: round3(sorted[sorted.length - 1]!),
    samples: ratios.map(round3),
  };
}

/** Warms the case up by doubling batches for `warmupMs`, and returns how many operations fill `timeMs`. */
async function calibrate(c: Prepared, options: BenchOptions): Promise<number> {
  let n = 1;
  let spent = 0;
  let rate = 0; // operations per millisecond of the last, largest batch
  for (;;) {
    const ms = (await time(c, n)).wallMs;
    spent += ms;
    if (ms > 0) rate = n / ms;
    if (spent >= options.warmupMs && ms >= 1) break;
    n *= 2;
  }
  return Math.max(1, Math.round(rate * options.timeMs));
}

async function time(c: Prepared, n: number): Promise<{ wallMs: number; cpuMs: number }> {
  if (c.def.kind !== 'fn') throw new Error('A measured case times itself.');
  const fn = c.def.fn;
  const cpu = process.cpuUsage();
  const start = performance.now();
  if (c.kind === 'async') {
    for (let i = 0; i < n; i++) sink = await fn();
  } else {
    for (let i = 0; i < n; i++) sink = fn();
  }
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Linear-interpolation quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function round3(x: number): number {
  return Number(x.toPrecision(6));
}

function printGroup(group: GroupReport): void {
  const rows = group.cases.map((c) => [
    c.name,
    Math.round(c.median).toLocaleString('en-US'),
    c.microsPerOp < 0.1 ? c.microsPerOp.toPrecision(2) : c.microsPerOp < 10 ? c.microsPerOp.toFixed(2) : c.microsPerOp.toFixed(1),
    `±${(((c.q3 - c.q1) / 2 / c.median) * 100).toFixed(1)}%`,
    `${c.ratio.median.toFixed(2)}×`,
    c.cpuRatio === null ? '–' : `${c.cpuRatio.median.toFixed(2)}×`,
    c.baseline || c.cpuRatio === null ? '' : `${c.cpuRatio.q1.toFixed(2)}–${c.cpuRatio.q3.toFixed(2)}`,
  ]);
  const head = ['case', 'ops/s (median)', 'µs/op', 'IQR/2', `× ${group.baseline}`, `CPU × ${group.baseline}`, 'CPU ratio IQR'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`\n${group.name}`);
  console.log(`  ${line(head)}`);
  for (const row of rows) console.log(`  ${line(row)}`);
  for (const note of group.notes) console.log(`  note: ${note}`);
}

function environment(loadAtStart: readonly number[]): Record<string, unknown> {
  const cpu = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
    platform: `${platform()} ${release()}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    // 1, 5 and 15-minute load averages: on a 2-core machine, anything well above 1 means other work shared the cores.
    loadAverageAtStart: loadAtStart.map((x) => Math.round(x * 100) / 100),
    loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
    execArgv: process.execArgv,
  };
}

function writeReport(report: SuiteReport): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${report.name}.json`;
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
