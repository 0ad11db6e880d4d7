// The input budget (issue 12, items 10-12): requests are estimated before the work and refused
// with the numbers when above the budget (BudgetError), the budget comes from the call, the
// CLI's flags, the environment or the machine in that order, and the refusals happen before any
// large allocation (each case here would otherwise hang, exhaust memory or fail with "Invalid
// typed array length").
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { budgetFromEnvironment, DEFAULT_MEMORY_FRACTION } from '../../src/budget-env.ts';
import {
  BudgetError,
  checkMemory,
  checkSimulation,
  checkSteps,
  FALLBACK_BUDGET,
  formatBytes,
  formatCount,
  GB,
  latticePoints,
  resolveBudget,
  setBudget,
} from '../../src/budget.ts';
import { applyBudgetOptions, BUDGET_OPTIONS } from '../../src/cli/budget.ts';
import { parseArgs, UsageError } from '../../src/cli/args.ts';
import { compileConnectome, ConnectomeFromAvgFilters } from '../../src/graph/compile.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';
import { Network } from '../../src/network/network.ts';
import { Dots, Flashes, Gratings, MovingEdge, UserMovies } from '../../src/stimuli/datasets.ts';

const dir = mkdtempSync(join(tmpdir(), 'flyvis-budget-'));
const demo = loadConnectomeSpec(demoConnectomePath);

/** The BudgetError `f` throws (fails the test when it throws something else or nothing). */
function budgetErrorOf(f: () => unknown): BudgetError {
  try {
    f();
  } catch (e) {
    if (e instanceof BudgetError) return e;
    throw e;
  }
  throw new Error('expected a BudgetError');
}

afterEach(() => setBudget({}));

describe('the budget in force', () => {
  it('takes a call option over setBudget over the environment over the fallback, field by field', () => {
    const prev = { ...process.env };
    try {
      process.env.FLYVIS_MAX_MEMORY_GB = '3';
      process.env.FLYVIS_MAX_STEPS = '500';
      expect(resolveBudget()).toEqual({ maxMemoryBytes: 3e9, maxSteps: 500 });
      setBudget({ maxMemoryBytes: 2e9 });
      expect(resolveBudget()).toEqual({ maxMemoryBytes: 2e9, maxSteps: 500 });
      expect(resolveBudget({ maxSteps: 7 })).toEqual({ maxMemoryBytes: 2e9, maxSteps: 7 });
      expect(resolveBudget({ maxMemoryBytes: undefined as unknown as number })).toEqual({ maxMemoryBytes: 2e9, maxSteps: 500 });
    } finally {
      process.env = prev;
    }
  });

  it('defaults to half the machine memory and the fallback step budget; malformed variables are named', () => {
    expect(budgetFromEnvironment({}, 16e9)).toEqual({ maxMemoryBytes: 16e9 * DEFAULT_MEMORY_FRACTION });
    expect(budgetFromEnvironment({ FLYVIS_MAX_MEMORY_GB: '0.5', FLYVIS_MAX_STEPS: '20' }, 16e9)).toEqual({ maxMemoryBytes: 0.5e9, maxSteps: 20 });
    expect(() => budgetFromEnvironment({ FLYVIS_MAX_MEMORY_GB: 'lots' }, 16e9)).toThrow("FLYVIS_MAX_MEMORY_GB: expected a positive number of gigabytes, got 'lots'");
    expect(() => budgetFromEnvironment({ FLYVIS_MAX_MEMORY_GB: '-1' }, 16e9)).toThrow(BudgetError);
    expect(() => budgetFromEnvironment({ FLYVIS_MAX_STEPS: '1.5' }, 16e9)).toThrow("FLYVIS_MAX_STEPS: expected a positive integer, got '1.5'");
    expect(FALLBACK_BUDGET).toEqual({ maxMemoryBytes: 4e9, maxSteps: 1_000_000 });
  });

  it('the CLI flags --max-memory GB and --max-steps N set the process-wide budget', () => {
    const { options } = parseArgs(['--max-memory', '1.5', '--max-steps', '99'], BUDGET_OPTIONS);
    applyBudgetOptions(options);
    expect(resolveBudget()).toEqual({ maxMemoryBytes: 1.5e9, maxSteps: 99 });
    expect(() => applyBudgetOptions({ 'max-memory': 0 })).toThrow(UsageError);
    expect(() => parseArgs(['--max-steps', '0'], BUDGET_OPTIONS)).toThrow('--max-steps: expected an integer >= 1');
  });
});

describe('checks and messages', () => {
  it('refuses exactly the estimates above the budget, reporting both numbers (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 1e15, noNaN: true }), fc.double({ min: 1, max: 1e15, noNaN: true }), (bytes, limit) => {
        const budget = { maxMemoryBytes: limit };
        if (bytes <= limit) {
          checkMemory('x', bytes, budget);
          return;
        }
        const e = budgetErrorOf(() => checkMemory('x', bytes, budget));
        expect([e.kind, e.estimate, e.limit]).toEqual(['memory', bytes, limit]);
        expect(e.message).toContain(`(about ${formatBytes(bytes)}), above the memory budget of ${formatBytes(limit)}`);
        // The suggested budget would let the request through.
        const gb = Number(/FLYVIS_MAX_MEMORY_GB=([0-9.e+-]+)/.exec(e.message)![1]);
        expect(gb * GB).toBeGreaterThanOrEqual(bytes);
        checkMemory('x', bytes, { maxMemoryBytes: gb * GB });
      }),
      { numRuns: 200 },
    );
  });

  it('says what was asked, how large it is and how to raise the budget', () => {
    const e = budgetErrorOf(() => checkSteps('steady state (t_pre 1 s at dt 1e-9 s)', 999_999_999, { maxSteps: 1_000_000 }));
    expect(e.message).toBe(
      'steady state (t_pre 1 s at dt 1e-9 s): 999,999,999 Euler steps, above the budget of 1,000,000 steps per call; raise it with FLYVIS_MAX_STEPS=1000000000 or --max-steps 1000000000',
    );
    const m = budgetErrorOf(() => checkSimulation('simulate (50000 frames)', { batch: 2, steps: 50_000, nodes: 9496, records: 3 }, { maxMemoryBytes: 1e9 }));
    expect(m.message).toBe(
      'simulate (50000 frames): batch 2 x 50,000 steps x 9,496 nodes (about 11.4 GB), above the memory budget of 1 GB; raise it with FLYVIS_MAX_MEMORY_GB=20 or --max-memory 20',
    );
    expect([formatCount(1234), formatCount(3.2e11), formatBytes(999), formatBytes(7.8e13), formatBytes(2e21)]).toEqual(['1,234', '3.2e11', '999 bytes', '78 TB', '2.0e21 bytes']);
    expect(latticePoints(15)).toBe(721);
  });
});

describe('connectome compilation is sized before it starts', () => {
  it('refuses extent 100000 and 1e9 at once, with the node count', () => {
    const e = budgetErrorOf(() => compileConnectome(demo, 100_000));
    expect(e.message).toMatch(/^extent 100000: 14 cell types on 3\.0e10 lattice points give up to 4\.2e11 nodes \(about [0-9.]+ TB\), above the memory budget of /);
    expect(e.estimate).toBeGreaterThan(4e11);
    expect(budgetErrorOf(() => ConnectomeFromAvgFilters(demoConnectomePath, 1e9)).message).toContain('extent 1000000000: 14 cell types on 3.0e18 lattice points');
  });

  it('follows the budget option: refuses or builds the same extent', () => {
    const small = budgetErrorOf(() => compileConnectome(demo, { extent: 4, budget: { maxMemoryBytes: 10_000 } }));
    expect(small.message).toMatch(/^extent 4: 14 cell types on 61 lattice points give up to 854 nodes/);
    // Nodes fit, edges do not: the edge estimate is checked after the nodes are built.
    const edges = budgetErrorOf(() => compileConnectome(demo, { extent: 4, budget: { maxMemoryBytes: 60_000 } }));
    expect(edges.message).toMatch(/^extent 4: [0-9,]+ \(edge type, offset\) pairs connect up to [0-9,]+ edges/);
    const ok = compileConnectome(demo, { extent: 4, budget: { maxMemoryBytes: 1e9 } });
    expect(ok.nodes.length).toBe(compileConnectome(demo, 4).nodes.length);
  });

  it('estimates edges from above: the compiled graph never exceeds the estimate it was allowed under', () => {
    for (const extent of [0, 1, 3, 6]) {
      const c = compileConnectome(demo, extent);
      const e = budgetErrorOf(() => compileConnectome(demo, { extent, budget: { maxMemoryBytes: c.nodes.length * 48 + 1 } }));
      // Either the nodes' upper bound or the edges' estimate refuses it; both are >= the truth.
      expect(e.estimate).toBeGreaterThanOrEqual(Math.min(c.nodes.length * 48, c.edges.length * 64));
    }
  });

  it('refuses a huge extent from a flyvis network config (YAML) before compiling', () => {
    const file = join(dir, 'network.yaml');
    writeFileSync(file, `network:\n  connectome:\n    type: ConnectomeFromAvgFilters\n    file: ${demoConnectomePath}\n    extent: 100000\n    n_syn_fill: 1\n`);
    expect(budgetErrorOf(() => Network.fromConfigFile(file)).message).toContain('extent 100000: 14 cell types');
  });
});

describe('integration calls are sized before they allocate', () => {
  const net = Network.fromConnectome(compileConnectome(demo, 2));
  const H = net.stimulus.nInputElements;

  it('refuses steady states of too many steps (dt 1e-9, t_pre 1e6) and too much memory', () => {
    expect(budgetErrorOf(() => net.steadyState(1, 1e-9, 1)).message).toMatch(/^steady state \(t_pre 1 s at dt 1e-9 s\): 999,999,999 Euler steps/);
    expect(budgetErrorOf(() => net.steadyState(1e6, 0.02, 1)).kind).toBe('steps');
    const mem = budgetErrorOf(() => net.steadyState(1, 0.001, 4, { budget: { maxMemoryBytes: 1000 } }));
    expect(mem.message).toContain(`batch 4 x 1,000 steps x ${net.nNodes} nodes`);
    expect(mem.estimate).toBe(4 * 1000 * net.nNodes * 4);
    expect(net.steadyState(0.1, 0.01, 1)).not.toBeNull(); // within the budget: runs
  });

  it('refuses simulations, forward passes and fade-ins from their shapes, before reading any data', () => {
    const movie = { data: new Float32Array(0), shape: [1, 1e9, 1, H] };
    expect(budgetErrorOf(() => net.simulate(movie, 0.01)).message).toMatch(/^simulate \(1000000000 frames\): 1\.0e9 Euler steps/);
    expect(budgetErrorOf(() => net.forward({ data: new Float32Array(0), shape: [1, 2e6, net.nNodes] }, 0.01)).kind).toBe('steps');
    const f = budgetErrorOf(() => net.forward({ data: new Float32Array(2 * net.nNodes), shape: [1, 2, net.nNodes] }, 0.01, { budget: { maxMemoryBytes: 100 } }));
    expect(f.estimate).toBe(2 * net.nNodes * 4 * 2);
    expect(budgetErrorOf(() => net.fadeInState(1e9, 0.01, { data: new Float32Array(H), shape: [1, 1, H] })).message).toMatch(/^fade-in \(t_fade_in 1000000000 s at dt 0\.01 s\)/);
  });

  it('a raised budget lets a refused request through', () => {
    setBudget({ maxSteps: 1000 });
    expect(() => net.steadyState(0.2, 0.0001, 1)).toThrow(/2,000 Euler steps, above the budget of 1,000 steps/);
    expect(net.steadyState(0.2, 0.0001, 1, { budget: { maxSteps: 2000 } })).not.toBeNull();
    setBudget({});
    expect(net.steadyState(0.2, 0.0001, 1)).not.toBeNull();
  });
});

describe('stimulus datasets are sized before rendering', () => {
  it('refuses items whose frame count at the current dt is above the budget (dt 1e-9)', () => {
    const flashes = new Flashes({ extent: 2, dt: 1e-9 });
    expect(budgetErrorOf(() => flashes.get(0)).message).toMatch(/^flashes\[0\] at dt 1e-9 s: 3\.0e9 Euler steps/);
    flashes.dt = 1 / 200;
    expect(flashes.get(0).shape).toEqual([flashes.frameCount(0), 19]);
    const edges = new MovingEdge({ extent: 2, dt: 1e-9, speeds: [19], angles: [0] });
    expect(budgetErrorOf(() => edges.get(0)).kind).toBe('steps');
    const movies = new UserMovies({ data: new Float32Array(2 * 19), shape: [1, 2, 19] }, { frameDt: 1e6 });
    movies.dt = 0.01;
    expect(budgetErrorOf(() => movies.get(0)).message).toMatch(/^movies\[0\] at dt 0\.01 s: 200,000,000 Euler steps/);
  });

  it('refuses lattices, monitors, bar offsets, grating periods and dots above the memory budget', () => {
    expect(budgetErrorOf(() => new Flashes({ extent: 100_000 })).message).toMatch(/^flashes: extent 100000 gives 3\.0e10 hexals/);
    expect(budgetErrorOf(() => new Dots({ extent: 100_000 })).kind).toBe('memory');
    expect(budgetErrorOf(() => new MovingEdge({ extent: 2, ppo: 1_000_000 })).message).toMatch(/on a 5,000,000 x 5,000,000 pixel monitor \(ppo 1000000\)/);
    expect(budgetErrorOf(() => new MovingEdge({ extent: 15, offsets: [0, 2e9] })).message).toMatch(/offsets \[0, 2000000000\) give 2\.0e9 frames of 721 hexals per bar/);
    expect(budgetErrorOf(() => new Gratings({ extent: 15, periods: [1e12] })).message).toMatch(/^gratings: periods give 3\.4e11 phase frames of 721 hexals/);
    expect(budgetErrorOf(() => new Dots({ extent: 200, dotColumnRadius: 200 })).message).toMatch(/^dots: 120,601 dots of radius 200/);
  });
});
