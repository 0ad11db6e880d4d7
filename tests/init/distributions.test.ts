import { describe, expect, it } from 'vitest';
import {
  Xoshiro128,
  defaultEdgeConfig,
  defaultNodeConfig,
  getParameter,
  initParameters,
  lognormalDistribution,
  normalDistribution,
  registerInitialDistribution,
  registeredInitialDistributions,
  semanticValues,
  torchNormal,
  valueDistribution,
} from '../../src/init/index.ts';
import { tinyConnectome } from './fixtures.ts';

const ctx = (config: Record<string, unknown>, nGroups = 4) => ({ config, nGroups, path: 'node_config.p' });

describe('xoshiro128** (the project\'s own uniform integers)', () => {
  it('reproduces the published xoshiro128** sequence for state [1, 2, 3, 4]', () => {
    const g = Xoshiro128.fromState(1, 2, 3, 4);
    const out = Array.from({ length: 10 }, () => g.nextUint32());
    expect(out).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804]);
  });

  it('refuses bad seeds', () => {
    expect(() => new Xoshiro128(-1)).toThrow('seed: expected a non-negative integer, got -1');
    expect(() => new Xoshiro128(1.5)).toThrow('seed');
  });
});

describe('Value', () => {
  it('repeats a scalar or takes one value per group, as float32', () => {
    expect(Array.from(valueDistribution(ctx({ value: 0.05 })).raw)).toEqual(Array(4).fill(Math.fround(0.05)));
    const { raw, transform } = valueDistribution(ctx({ value: [1, 2, 3, 4.1] }));
    expect(raw).toBeInstanceOf(Float32Array);
    expect(Array.from(raw)).toEqual([1, 2, 3, Math.fround(4.1)]);
    expect(transform).toBe('identity');
  });

  it('names the field when the value is missing, of the wrong length or not finite', () => {
    expect(() => valueDistribution(ctx({}))).toThrow('node_config.p.value: expected a number or a list of 4 numbers, got undefined');
    expect(() => valueDistribution(ctx({ value: [1, 2] }))).toThrow(
      'node_config.p.value: expected a number or a list of 4 numbers (one per group), got 2 values',
    );
    expect(() => valueDistribution(ctx({ value: [1, 2, 'x', 4] }))).toThrow("node_config.p.value[2]: expected a finite number, got 'x'");
    expect(() => valueDistribution(ctx({ value: Infinity }))).toThrow('node_config.p.value: expected a finite number, got Infinity');
  });
});

describe('Normal and Lognormal', () => {
  it("mode 'mean' gives the mean", () => {
    expect(Array.from(normalDistribution(ctx({ mode: 'mean', mean: 0.5, std: 3 })).raw)).toEqual(Array(4).fill(0.5));
  });

  it("mode 'sample' is torch.normal(mean, std) from a torch.Generator seeded by `seed`, in float32", () => {
    const cfg = { mode: 'sample', mean: [0, 1, 2, 3], std: 0.5, seed: 7 };
    const a = normalDistribution(ctx(cfg)).raw;
    expect(a).toBeInstanceOf(Float32Array);
    expect(normalDistribution(ctx(cfg)).raw).toEqual(a);
    expect(a).toEqual(torchNormal([0, 1, 2, 3], [0.5, 0.5, 0.5, 0.5], 7));
    // g = torch.Generator(); g.manual_seed(7); torch.normal(tensor([0., 1, 2, 3]), tensor([.5] * 4), generator=g)
    expect(Array.from(a)).toEqual([-0.07339754700660706, 1.3930706977844238, 2.4734108448028564, 2.4428279399871826]);
    expect(normalDistribution(ctx({ ...cfg, seed: 8 })).raw).not.toEqual(a);
    // Mode defaults to 'sample', as in flyvis.
    expect(normalDistribution(ctx({ mean: [0, 1, 2, 3], std: 0.5, seed: 7 })).raw).toEqual(a);
    // Seeds are taken as manual_seed takes them: negative ones as 64-bit two's complement.
    expect(normalDistribution(ctx({ ...cfg, seed: -1 })).raw).toEqual(normalDistribution(ctx({ ...cfg, seed: 2 ** 32 - 1 })).raw);
  });

  it("gives flyvis's default biases (65 groups, mean 0.5, std 0.05, seed 0)", () => {
    const raw = normalDistribution({ config: { mode: 'sample', mean: 0.5, std: 0.05, seed: 0 }, nGroups: 65, path: 'node_config.bias' }).raw;
    expect(Array.from(raw.subarray(0, 3))).toEqual([0.44370800256729126, 0.44238197803497314, 0.4874710738658905]);
  });

  it('samples with a fresh random seed when seed is null', () => {
    const a = normalDistribution(ctx({ mode: 'sample', mean: 0, std: 1, seed: null }, 8)).raw;
    const b = normalDistribution(ctx({ mode: 'sample', mean: 0, std: 1, seed: null }, 8)).raw;
    expect(a).not.toEqual(b);
  });

  it('has sample statistics of the configured normal', () => {
    const raw = normalDistribution(ctx({ mode: 'sample', mean: 0.5, std: 0.05, seed: 0 }, 10_000)).raw;
    const mean = raw.reduce((s, x) => s + x, 0) / raw.length;
    const sd = Math.sqrt(raw.reduce((s, x) => s + (x - mean) ** 2, 0) / raw.length);
    expect(mean).toBeCloseTo(0.5, 2);
    expect(sd).toBeGreaterThan(0.048);
    expect(sd).toBeLessThan(0.052);
  });

  it('refuses unknown modes, negative std and bad seeds, naming the field', () => {
    expect(() => normalDistribution(ctx({ mode: 'median', mean: 0, std: 1 }))).toThrow(
      "node_config.p.mode: expected 'mean' or 'sample', got 'median'",
    );
    expect(() => normalDistribution(ctx({ mode: 'sample', mean: 0, std: -1, seed: 0 }))).toThrow(
      'node_config.p.std: expected a non-negative number, got -1',
    );
    expect(() => normalDistribution(ctx({ mode: 'sample', mean: 0, std: 1, seed: 'a' }))).toThrow(
      "node_config.p.seed: expected an integer or null, got 'a'",
    );
    expect(() => normalDistribution(ctx({ mode: 'sample', mean: 0, std: 1, seed: 0.5 }))).toThrow(
      'node_config.p.seed: expected an integer or null, got 0.5',
    );
  });

  it('Lognormal keeps the normal raw values and transforms by exp', () => {
    const cfg = { mode: 'sample', mean: 1, std: 0.3, seed: 3 };
    const normal = normalDistribution(ctx(cfg));
    const lognormal = lognormalDistribution(ctx(cfg));
    expect(lognormal.raw).toEqual(normal.raw);
    expect(lognormal.transform).toBe('exp');
  });
});

describe('initial distribution registry', () => {
  it('lists the built-ins and uses a registered distribution by name', () => {
    expect(registeredInitialDistributions()).toEqual(expect.arrayContaining(['Value', 'Normal', 'Lognormal']));
    registerInitialDistribution('TestRamp', ({ nGroups }) => ({ raw: Float32Array.from({ length: nGroups }, (_, i) => i / 10), transform: 'exp' }));
    const node = defaultNodeConfig();
    const set = initParameters(tinyConnectome(), { ...node, time_const: { ...node.time_const, initial_dist: 'TestRamp' } }, defaultEdgeConfig());
    const tau = getParameter(set, 'nodes_time_const');
    expect(Array.from(tau.raw)).toEqual([0, 0.1, 0.2].map(Math.fround));
    expect(tau.transform).toBe('exp');
    expect(Array.from(semanticValues(tau))).toEqual([0, 0.1, 0.2].map((x) => Math.fround(Math.exp(Math.fround(x)))));
  });

  it('refuses duplicate names and unknown distributions', () => {
    expect(() => registerInitialDistribution('Normal', valueDistribution)).toThrow("initial_dist: 'Normal' is already registered");
    const node = defaultNodeConfig();
    expect(() => initParameters(tinyConnectome(), { ...node, bias: { ...node.bias, initial_dist: 'Gamma' } }, defaultEdgeConfig())).toThrow(
      /^node_config\.bias\.initial_dist: expected one of Value, Normal, Lognormal.*, got 'Gamma'$/,
    );
  });

  it('rejects a distribution that returns the wrong number of values', () => {
    registerInitialDistribution('TestShort', () => ({ raw: new Float32Array(1), transform: 'identity' }));
    const node = defaultNodeConfig();
    expect(() => initParameters(tinyConnectome(), { ...node, bias: { ...node.bias, initial_dist: 'TestShort' } }, defaultEdgeConfig())).toThrow(
      'node_config.bias: initial distribution TestShort must give a Float32Array of 3 values',
    );
  });
});
