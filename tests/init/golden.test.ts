// The default configuration against flyvis 1.1.3's parameters (../shared/golden/extent{2,15}):
// group keys, order and initial values (the sampled biases included, with no checkpoint), the
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

/** Relative tolerance of golden/README.md. */
function expectRelClose(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const err = Math.abs(actual[i]! - e) / Math.max(Math.abs(e), 1e-30);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: worst relative error at group ${at}`).toBeLessThanOrEqual(1e-6);
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

  it("samples flyvis's biases and sets its time constants and signs bit for bit, with no checkpoint", () => {
    // The biases are torch.normal(0.5, 0.05) from a torch.Generator seeded with 0 (golden/README.md).
    for (const name of ['nodes_bias', 'nodes_time_const', 'edges_sign']) {
      const raw = getParameter(initial, name).raw;
      const ref = checkpoint[name]!;
      expect(raw.length, name).toBe(ref.length);
      const differing = ref.flatMap((x, i) => (Object.is(raw[i], x) ? [] : [`[${i}] ${raw[i]} != ${x}`]));
      expect(differing.slice(0, 5), `${name}: ${differing.length} values differ`).toEqual([]);
    }
  });

  it("starts from flyvis's initial values", () => {
    for (const name of NAMES) {
      const p = getParameter(initial, stateDictName(name));
      expectRelClose(semanticValues(p), golden.params[name]!.values, name);
      // Raw values match the checkpoint too (log counts compared absolutely: they are near 0 for n_syn near 1).
      const ref = checkpoint[p.stateDictName]!;
      if (p.transform === 'exp') p.raw.forEach((x, i) => expect(Math.abs(x - ref[i]!)).toBeLessThanOrEqual(1e-6));
      else expectRelClose(p.raw, ref, `${name} raw`);
    }
  });

  it('equals every group of the golden parameters after loading the checkpoint', () => {
    const loaded = loadCheckpoint(initial, checkpoint);
    for (const name of NAMES) expectRelClose(semanticValues(getParameter(loaded, stateDictName(name))), golden.params[name]!.values, name);
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
