// The default configuration against flyvis 1.1.3's parameters (../shared/golden/extent{2,15}):
// group keys, order and initial values, every raw value bit for bit with no checkpoint (the
// sampled biases, the float32 means of the synapse counts and numpy's float32 log of them), the
// checkpoint's values, and the parameter counts.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConnectomeFromAvgFilters } from '../../src/graph/index.ts';
import { type Connectome, cellValue } from '../../src/graph/types.ts';
import {
  type Key,
  type ParameterSet,
  defaultEdgeConfig,
  defaultNodeConfig,
  getParameter,
  initParameters,
  loadCheckpoint,
  numParameters,
  numTrainableParameters,
  semanticValues,
} from '../../src/init/index.ts';
import { CONNECTOME_FILE, GOLDEN_DIR, hasShared } from '../helpers/shared.ts';

interface GoldenGroups {
  keys: Key[];
  values: number[];
}
interface Golden {
  params: Record<string, GoldenGroups>;
  num_parameters: number;
  num_free_parameters: number;
}

const NAMES = ['bias', 'time_const', 'sign', 'syn_count', 'syn_strength'] as const;
const stateDictName = (name: string): string => `${name === 'bias' || name === 'time_const' ? 'nodes' : 'edges'}_${name}`;

/** Bit patterns that differ between `actual` and `expected` (float32 values), as readable lines. */
function bitDifferences(actual: ArrayLike<number>, expected: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) out.push(`[${i}] ${actual[i]} != ${expected[i]}`);
  return out;
}

function expectBitEqual(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const differing = bitDifferences(actual, expected);
  expect(differing.slice(0, 5), `${what}: ${differing.length} of ${expected.length} values differ`).toEqual([]);
}

/** Distance in float32 units in the last place between two finite positive float32 values. */
function ulps(a: number, b: number): number {
  const v = new Float32Array([a, b]);
  const u = new Int32Array(v.buffer);
  return Math.abs(u[0]! - u[1]!);
}

describe.skipIf(!hasShared).each([2, 15])('default parameters at extent %i (flyvis golden)', (extent) => {
  let connectome: Connectome;
  let golden: Golden;
  let checkpoint: Record<string, number[]>;
  let initial: ParameterSet;

  beforeAll(() => {
    connectome = ConnectomeFromAvgFilters(CONNECTOME_FILE, extent);
    golden = JSON.parse(readFileSync(`${GOLDEN_DIR}/extent${extent}/golden.json`, 'utf8')) as Golden;
    checkpoint = JSON.parse(readFileSync(`${GOLDEN_DIR}/extent${extent}/params.json`, 'utf8')) as Record<string, number[]>;
    initial = initParameters(connectome, defaultNodeConfig(), defaultEdgeConfig());
  });

  it("has flyvis's groups: keys in the same order", () => {
    expect(initial.parameters.map((p) => p.stateDictName)).toEqual(NAMES.map(stateDictName));
    for (const name of NAMES) {
      expect(getParameter(initial, stateDictName(name)).keys, name).toEqual(golden.params[name]!.keys);
    }
    if (extent === 15) {
      expect(NAMES.map((n) => golden.params[n]!.keys.length)).toEqual([65, 65, 604, 2355, 604]);
    }
  });

  it("builds every raw value of flyvis's checkpoint bit for bit, with no checkpoint", () => {
    // Biases: torch.normal(0.5, 0.05) from a torch.Generator seeded with 0 (golden/README.md).
    // Synapse counts: numpy's float32 log of pandas' float32 (Kahan) means of n_syn per
    // (source, target, du, dv); strengths: float32(0.01) / the float32 means per (source, target).
    for (const name of NAMES) {
      const p = getParameter(initial, stateDictName(name));
      expectBitEqual(p.raw, checkpoint[p.stateDictName]!, p.stateDictName);
    }
  });

  it("starts from flyvis's initial semantic values", () => {
    for (const name of NAMES) {
      const p = getParameter(initial, stateDictName(name));
      const expected = golden.params[name]!.values;
      if (p.transform === 'identity') {
        expectBitEqual(semanticValues(p), expected, name);
      } else {
        // exp of the log counts: torch's float32 exp is not ported (semanticValues rounds
        // Math.exp to float32), so about 4% of the counts differ by one ulp from torch's.
        const sem = semanticValues(p);
        expect(sem.length, name).toBe(expected.length);
        const worst = expected.reduce((w, e, i) => Math.max(w, ulps(sem[i]!, e)), 0);
        expect(worst, `${name}: largest difference in ulps`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('equals every group of the golden parameters after loading the checkpoint', () => {
    const loaded = loadCheckpoint(initial, checkpoint);
    for (const name of NAMES) {
      const p = getParameter(loaded, stateDictName(name));
      expectBitEqual(p.raw, checkpoint[p.stateDictName]!, `${p.stateDictName} loaded`);
      if (p.transform === 'identity') expectBitEqual(semanticValues(p), golden.params[name]!.values, `${name} loaded`);
    }
  });

  it("counts flyvis's number of parameters and trainable parameters", () => {
    expect(numParameters(initial)).toBe(golden.num_parameters);
    expect(numTrainableParameters(initial)).toBe(golden.num_free_parameters);
    if (extent === 15) {
      expect(numParameters(initial)).toBe(3693);
      expect(numTrainableParameters(initial)).toBe(734);
    }
  });

  it("maps every node and edge to the group whose key is that element's own (sampled rows)", () => {
    const bias = getParameter(initial, 'nodes_bias');
    const type = connectome.nodes.columns.type!;
    expect(bias.indices.length).toBe(connectome.nodes.length);
    for (let i = 0; i < connectome.nodes.length; i += 7) expect(bias.keys[bias.indices[i]!]).toBe(cellValue(type, i));
    const count = getParameter(initial, 'edges_syn_count');
    const cols = ['source_type', 'target_type', 'du', 'dv'].map((c) => connectome.edges.columns[c]!);
    expect(count.indices.length).toBe(connectome.edges.length);
    const step = Math.max(1, Math.floor(connectome.edges.length / 5000));
    for (let e = 0; e < connectome.edges.length; e += step) {
      expect(count.keys[count.indices[e]!]).toEqual(cols.map((c) => cellValue(c, e)));
    }
  });
});
