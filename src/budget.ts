// The input budget: every request that allocates in proportion to its input (a connectome's
// extent and offsets, a simulation's steps, a movie's frames) is estimated before the work
// starts and refused, with the numbers, when the estimate is above the budget. One memory budget
// (bytes one request may allocate) and one step budget (Euler steps one integration call may
// take). Platform neutral: the Node edge (src/budget-env.ts) supplies the machine's default and
// the environment variables FLYVIS_MAX_MEMORY_GB / FLYVIS_MAX_STEPS; library calls take a
// `budget` option; the CLI's --max-memory / --max-steps set a process-wide override.

/** What one request may use. */
export interface Budget {
  /** Bytes one request may allocate, estimated before the work starts. */
  readonly maxMemoryBytes: number;
  /** Euler steps one integration call (steady state, fade-in, simulation) may take. */
  readonly maxSteps: number;
}

/** Any part of a budget; the rest comes from the next source (see `resolveBudget`). */
export type BudgetOptions = Partial<Budget>;

/** Bytes per GB: budgets and messages use decimal gigabytes (1e9 bytes). */
export const GB = 1e9;

/**
 * The budget where no Node edge supplied one (a browser, a bare import of this module): 4 GB
 * and 1,000,000 Euler steps per call. Under Node the memory default is half the machine's
 * memory (src/budget-env.ts).
 */
export const FALLBACK_BUDGET: Budget = Object.freeze({ maxMemoryBytes: 4 * GB, maxSteps: 1_000_000 });

/**
 * Bytes assumed per node, per edge, per connection offset and per value in the estimates: the
 * compiler's typed-array columns plus its transient buffers (an edge: 8 bytes of endpoints in
 * a bound-sized buffer, 8 more in the kept copy, 28 in the seven value columns, 16 in the lazy
 * coordinate columns; a node: 5 int32 columns plus the position grids), and a JavaScript object
 * in an array for an offset. Estimates are of the dominant allocations, not exact.
 */
export const BYTES_PER_NODE = 48;
export const BYTES_PER_EDGE = 64;
export const BYTES_PER_OFFSET = 128;
export const BYTES_PER_VALUE = 4;

/** A request above the budget (bad input: the CLI exits 2). The message gives the numbers. */
export class BudgetError extends Error {
  override name = 'BudgetError';
  constructor(
    message: string,
    /** 'memory' (bytes) or 'steps' (Euler steps). */
    readonly kind: 'memory' | 'steps',
    /** The estimate that was refused. */
    readonly estimate: number,
    /** The budget it was compared with. */
    readonly limit: number,
  ) {
    super(message);
  }
}

let environment: () => BudgetOptions = () => ({});
let override: BudgetOptions = {};

/** Sets where the environment's budget comes from (called by the Node edge, src/budget-env.ts). */
export function setBudgetEnvironment(source: () => BudgetOptions): void {
  environment = source;
}

/**
 * A process-wide budget (the CLI's --max-memory and --max-steps), above the environment's and
 * below a call's own `budget` option. `setBudget({})` clears it.
 */
export function setBudget(values: BudgetOptions): void {
  for (const [k, v] of Object.entries(values)) validBudgetValue(k, v);
  override = { ...values };
}

function validBudgetValue(name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0) || Number.isNaN(v)) {
    throw new BudgetError(`budget ${name}: expected a positive number, got ${String(v)}`, name === 'maxSteps' ? 'steps' : 'memory', NaN, NaN);
  }
  return v;
}

const defined = (o: BudgetOptions | undefined): BudgetOptions =>
  Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));

/**
 * The budget in force: a call's `options`, else the process-wide `setBudget`, else the
 * environment (FLYVIS_MAX_MEMORY_GB, FLYVIS_MAX_STEPS, half the machine's memory under Node),
 * else `FALLBACK_BUDGET`. Each field is resolved on its own.
 */
export function resolveBudget(options?: BudgetOptions): Budget {
  const b = { ...FALLBACK_BUDGET, ...defined(environment()), ...defined(override), ...defined(options) };
  return { maxMemoryBytes: validBudgetValue('maxMemoryBytes', b.maxMemoryBytes), maxSteps: validBudgetValue('maxSteps', b.maxSteps) };
}

/** A count in short form: 1234 -> "1,234", 3.2e11 -> "3.2e11". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.abs(n) < 1e9 ? Math.round(n).toLocaleString('en-US') : n.toExponential(1).replace('e+', 'e');
}

/** Bytes in short form, decimal units: "512 MB", "11.8 GB", "7.8e13 bytes" (above 1000 TB). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes >= 1e18) return `${formatCount(bytes)} bytes`;
  const units: [number, string][] = [[1e15, 'PB'], [1e12, 'TB'], [GB, 'GB'], [1e6, 'MB'], [1e3, 'kB']];
  for (const [size, unit] of units) {
    if (bytes >= size) return `${Number((bytes / size).toPrecision(3))} ${unit}`;
  }
  return `${Math.round(bytes)} bytes`;
}

/** A round value above `x` to suggest as a new budget (1, 2 or 5 times a power of ten). */
function suggestAbove(x: number): number {
  if (!Number.isFinite(x) || x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= x * 1.0001) ?? 10 * p;
}

/**
 * Refuses a request whose memory estimate is above the budget: throws `BudgetError` with
 * "`what` (about X), above the memory budget of Y; raise it with FLYVIS_MAX_MEMORY_GB=Z or
 * --max-memory Z". `what` says what was asked and how it sizes up (e.g. "extent 100000: 65 cell
 * types on 3.0e10 lattice points give up to 1.9e12 nodes").
 */
export function checkMemory(what: string, bytes: number, options?: BudgetOptions): void {
  const { maxMemoryBytes } = resolveBudget(options);
  if (bytes <= maxMemoryBytes) return;
  const gb = suggestAbove(bytes / GB);
  const raise = Number.isFinite(gb) && gb < 1e9 ? `FLYVIS_MAX_MEMORY_GB=${gb} or --max-memory ${gb}` : 'FLYVIS_MAX_MEMORY_GB or --max-memory (GB)';
  throw new BudgetError(
    `${what} (about ${formatBytes(bytes)}), above the memory budget of ${formatBytes(maxMemoryBytes)}; raise it with ${raise}`,
    'memory',
    bytes,
    maxMemoryBytes,
  );
}

/**
 * Refuses an integration of more than the budget's Euler steps: throws `BudgetError` with
 * "`what`: N Euler steps, above the budget of M steps per call; raise it with
 * FLYVIS_MAX_STEPS=K or --max-steps K". Non-finite step counts are left to the caller's own
 * validation of dt.
 */
export function checkSteps(what: string, steps: number, options?: BudgetOptions): void {
  const { maxSteps } = resolveBudget(options);
  if (!Number.isFinite(steps) || steps <= maxSteps) return;
  const k = suggestAbove(steps);
  const raise = k <= Number.MAX_SAFE_INTEGER ? `FLYVIS_MAX_STEPS=${k} or --max-steps ${k}` : 'FLYVIS_MAX_STEPS or --max-steps';
  throw new BudgetError(
    `${what}: ${formatCount(steps)} Euler steps, above the budget of ${formatCount(maxSteps)} steps per call; raise it with ${raise}`,
    'steps',
    steps,
    maxSteps,
  );
}

// -- estimates ------------------------------------------------------------------------------

/** Points of the hexagonal lattice of radius `extent`: 3e^2 + 3e + 1 (a float for huge extents). */
export const latticePoints = (extent: number): number => 3 * extent * extent + 3 * extent + 1;

/**
 * Upper bound of the nodes `ConnectomeFromAvgFilters` builds, and of the lattice points it
 * visits: every cell type covers the lattice of radius `extent` (strides keep fewer points but
 * are visited all the same), a 'single' type has one node.
 */
export function estimateNodes(cellTypes: readonly { readonly single: boolean }[], extent: number): number {
  let n = 0;
  for (const t of cellTypes) n += t.single ? 1 : latticePoints(extent);
  return n;
}

/**
 * Integer points of the bounding box [duMin, duMax] x [dvMin, dvMax] that the hull fill visits,
 * clipped to |du|, |dv| <= `window` when given (offsets beyond 2 * extent connect no cells).
 * 0 for an empty box.
 */
export function hullScanPoints(
  box: { readonly duMin: number; readonly duMax: number; readonly dvMin: number; readonly dvMax: number },
  window?: number,
): number {
  const lo = (x: number): number => (window === undefined ? x : Math.max(x, -window));
  const hi = (x: number): number => (window === undefined ? x : Math.min(x, window));
  const du = hi(box.duMax) - lo(box.duMin) + 1;
  const dv = hi(box.dvMax) - lo(box.dvMin) + 1;
  return du > 0 && dv > 0 ? du * dv : 0;
}

/** What one integration call holds: batch x steps x nodes values, `records` times over. */
export interface SimulationSize {
  readonly batch: number;
  readonly steps: number;
  readonly nodes: number;
  /**
   * How many (batch, steps, nodes) arrays the call keeps: the input buffer, the activity after
   * each step, the stacked result, what is recorded for differentiation.
   */
  readonly records: number;
}

/** Bytes of a simulation: batch x steps x nodes x 4 bytes x records. */
export const simulationBytes = (s: SimulationSize): number => s.batch * s.steps * s.nodes * BYTES_PER_VALUE * s.records;

/** "batch 2 x 50,000 steps x 9,496 nodes" for messages. */
export const simulationText = (s: SimulationSize): string =>
  `batch ${formatCount(s.batch)} x ${formatCount(s.steps)} steps x ${formatCount(s.nodes)} nodes`;

/**
 * Arrays of (batch, steps, nodes) values that recording an integration for differentiation
 * keeps per step, beyond the forward pass's own (inputs and results of the step's operations).
 */
export const GRAD_RECORDS = 6;

/**
 * Refuses an integration call above the step budget or the memory budget, before it starts.
 * `what` names the call and where its steps come from, e.g. "steady state (t_pre 1 s at dt
 * 1e-09 s)".
 */
export function checkSimulation(what: string, size: SimulationSize, options?: BudgetOptions): void {
  checkSteps(what, size.steps, options);
  checkMemory(`${what}: ${simulationText(size)}`, simulationBytes(size), options);
}
