import { describe, expect, it } from 'vitest';
import {
  type Parameter,
  type ParameterSet,
  clampParameters,
  defaultEdgeConfig,
  defaultNodeConfig,
  gather,
  getParameter,
  initParameters,
  numParameters,
  numTrainableParameters,
  rawValueByKey,
  registerParameterType,
  semanticValues,
  valueByKey,
} from '../../src/init/index.ts';
import { deepFreeze, tinyConnectome } from './fixtures.ts';
import { npLogFloat32 } from '../../src/init/float32-math.ts';

const f32 = (xs: readonly number[]): number[] => xs.map(Math.fround);
const init = (node: object = defaultNodeConfig(), edge: object = defaultEdgeConfig()): ParameterSet => initParameters(tinyConnectome(), node, edge);
const param = (set: ParameterSet, name: string): Parameter => getParameter(set, name);

describe('initParameters with the default configuration (tiny connectome)', () => {
  const set = init();

  it("orders parameters as flyvis's state_dict", () => {
    expect(set.parameters.map((p) => p.stateDictName)).toEqual([
      'nodes_bias',
      'nodes_time_const',
      'edges_sign',
      'edges_syn_count',
      'edges_syn_strength',
    ]);
    expect(set.parameters.map((p) => p.route)).toEqual(['nodes', 'nodes', 'edges', 'edges', 'edges']);
  });

  it('groups node parameters by type in order of first appearance', () => {
    const bias = param(set, 'nodes_bias');
    expect(bias.keys).toEqual(['R', 'L', 'T']);
    expect(Array.from(bias.indices)).toEqual([0, 0, 1, 1, 1, 2]);
    expect(bias.trainable).toBe(true);
    const tau = param(set, 'nodes_time_const');
    expect(Array.from(tau.raw)).toEqual(f32([0.05, 0.05, 0.05]));
  });

  it('gives signs of each (source_type, target_type) group', () => {
    const sign = param(set, 'edges_sign');
    expect(sign.keys).toEqual([['R', 'L'], ['L', 'T'], ['T', 'L'], ['R', 'T']]);
    expect(Array.from(sign.indices)).toEqual([0, 0, 0, 1, 0, 1, 2, 3, 1]);
    expect(Array.from(sign.raw)).toEqual([-1, 1, -1, 1]);
    expect(sign.trainable).toBe(false);
  });

  it('gives log mean synapse counts keyed (source_type, target_type, du, dv)', () => {
    const count = param(set, 'edges_syn_count');
    expect(count.keys).toEqual([
      ['R', 'L', 0, 0],
      ['R', 'L', -1, 0],
      ['L', 'T', 0, 0],
      ['R', 'L', 1, 0],
      ['L', 'T', -1, 0],
      ['T', 'L', 0, 1],
      ['R', 'T', 0, 0],
      ['L', 'T', 0, -1],
    ]);
    expect(Array.from(count.indices)).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7]);
    const means = [38, 3, 5, 2, 1, 7, 2.5, 1];
    // flyvis takes numpy's float32 log of the means, which is not always correctly rounded.
    expect(Array.from(count.raw)).toEqual(f32(means.map(npLogFloat32)));
    expect(count.transform).toBe('exp');
    Array.from(semanticValues(count)).forEach((v, i) => expect(v).toBeCloseTo(means[i]!, 5));
  });

  it('starts synapse strengths at 0.01 / mean n_syn of the group', () => {
    const strength = param(set, 'edges_syn_strength');
    expect(strength.keys).toEqual([['R', 'L'], ['L', 'T'], ['T', 'L'], ['R', 'T']]);
    expect(Array.from(strength.raw)).toEqual([81 / 4, 7 / 3, 7, 2.5].map((m) => Math.fround(Math.fround(0.01) / Math.fround(m))));
    expect(strength.clamp).toEqual({ kind: 'non_negative' });
  });

  it('counts parameters and trainable parameters', () => {
    expect(numParameters(set)).toBe(3 + 3 + 4 + 8 + 4);
    expect(numTrainableParameters(set)).toBe(3 + 3 + 4);
  });

  it('honours a custom scale for SynapseCountScaling', () => {
    const edge = defaultEdgeConfig();
    const s = init(defaultNodeConfig(), { ...edge, syn_strength: { ...edge.syn_strength, scale: 2 } });
    expect(param(s, 'edges_syn_strength').raw[2]).toBe(Math.fround(2 / 7));
  });
});

describe('configs', () => {
  it('never mutates configs (deep-frozen input works and stays equal) and keeps unknown keys', () => {
    const node = defaultNodeConfig();
    const edge = defaultEdgeConfig();
    const withExtras = { ...edge, sign: { ...edge.sign, form: 'value', penalize: { function: 'weight_decay', kwargs: { lambda: 0 } } } };
    const snapshot = JSON.stringify([node, withExtras]);
    const set = initParameters(tinyConnectome(), deepFreeze(node), deepFreeze(withExtras));
    expect(JSON.stringify([node, withExtras])).toBe(snapshot);
    const sign = param(set, 'edges_sign');
    expect(sign.config.form).toBe('value');
    expect(sign.config.penalize).toEqual({ function: 'weight_decay', kwargs: { lambda: 0 } });
    expect(param(set, 'nodes_bias').config.penalize).toEqual({ activity: true });
    // The stored config is a frozen copy, not the caller's object.
    expect(sign.config).not.toBe(withExtras.sign);
    expect(Object.isFrozen(sign.config)).toBe(true);
  });

  it('returns fresh default configs each call', () => {
    const a = defaultNodeConfig();
    (a.bias as unknown as { mean: number }).mean = 99;
    expect(defaultNodeConfig().bias.mean).toBe(0.5);
    expect(defaultEdgeConfig()).toEqual(defaultEdgeConfig());
    expect(defaultEdgeConfig().syn_count.groupby).toEqual(['source_type', 'target_type', 'dv', 'du']);
  });

  it('accepts any groupby columns the connectome has (tuple keys for several columns)', () => {
    const node = defaultNodeConfig();
    const set = init({ ...node, time_const: { ...node.time_const, groupby: ['type', 'u'] } });
    const tau = param(set, 'nodes_time_const');
    expect(tau.keys).toEqual([['R', 0], ['R', 1], ['L', 0], ['L', 1], ['T', 0]]);
    expect(Array.from(tau.indices)).toEqual([0, 1, 2, 3, 2, 4]);
  });

  it('names the field of every config error', () => {
    const node = defaultNodeConfig();
    const edge = defaultEdgeConfig();
    expect(() => init(node, { ...edge, syn_count: { ...edge.syn_count, mode: 'sample' } })).toThrow(
      "edge_config.syn_count.mode: expected 'mean', got 'sample'",
    );
    expect(() => init({ ...node, bias: { ...node.bias, groupby: ['type', 'colour'] } })).toThrow(
      "node_config.bias.groupby[1]: unknown nodes column 'colour' (available: index, type, u, v)",
    );
    expect(() => init({ ...node, bias: { ...node.bias, type: 'Resting' } })).toThrow(
      /^node_config\.bias\.type: expected one of RestingPotential, TimeConstant, SynapseSign, SynapseCount, SynapseCountScaling.*, got 'Resting'$/,
    );
    expect(() => init(node, { ...edge, sign: { ...edge.sign, requires_grad: 'no' } })).toThrow(
      "edge_config.sign.requires_grad: expected true or false, got 'no'",
    );
    expect(() => init(node, { ...edge, sign: { ...edge.sign, groupby: [] } })).toThrow(
      'edge_config.sign.groupby: expected a non-empty list of column names, got []',
    );
    expect(() => init(node, { ...edge, sign: { ...edge.sign, groupby: ['du', 'du'] } })).toThrow(
      "edge_config.sign.groupby[1]: expected no repeated column, got 'du'",
    );
    expect(() => init(node, { ...edge, bias: { ...node.bias } })).toThrow(
      'edge_config.bias.type: RestingPotential is a nodes parameter type; configure it in node_config',
    );
    expect(() => init(node, { ...edge, syn_strength: { ...edge.syn_strength, clamp: 'positive' } })).toThrow(
      "edge_config.syn_strength.clamp: expected 'non_negative', [min, max] or null, got 'positive'",
    );
    expect(() => init(node, { ...edge, syn_strength: { ...edge.syn_strength, clamp: [1, 0] } })).toThrow(
      'edge_config.syn_strength.clamp: expected min <= max, got [1, 0]',
    );
    expect(() => initParameters(tinyConnectome(), null, edge)).toThrow('node_config: expected an object of parameter configs, got null');
    expect(() => initParameters(tinyConnectome(), { bias: 3 }, edge)).toThrow('node_config.bias: expected an object, got 3');
  });

  it('reports a missing edge column needed by a parameter type', () => {
    const c = tinyConnectome();
    const { sign: _sign, ...columns } = c.edges.columns;
    const noSign = { ...c, edges: { ...c.edges, columns } };
    expect(() => initParameters(noSign, defaultNodeConfig(), defaultEdgeConfig())).toThrow(
      /^edge_config\.sign: SynapseSign needs a numeric column 'sign' \(columns: source_index, target_index, n_syn/,
    );
  });

  it('clamps initial values by the clamp rule, trainable or not (as flyvis)', () => {
    const node = defaultNodeConfig();
    const set = init({ ...node, time_const: { ...node.time_const, value: -1, requires_grad: false, clamp: [0.01, 1] } });
    // Clamped to the smallest float32 inside the range (fround(0.01) is below 0.01).
    const lo = param(set, 'nodes_time_const').raw[0]!;
    expect(lo).toBeGreaterThanOrEqual(0.01);
    expect(lo).toBe(0.010000000707805157);
    expect(Array.from(param(set, 'nodes_time_const').raw)).toEqual([lo, lo, lo]);
  });
});

describe('keys', () => {
  const set = init();

  it('looks values up by key (semantic and raw)', () => {
    const count = param(set, 'edges_syn_count');
    // numpy's float32 log(7) is 1.9459102, one ulp above the correctly rounded 1.9459101.
    expect(rawValueByKey(count, ['T', 'L', 0, 1])).toBe(Math.fround(1.9459102));
    expect(valueByKey(count, ['T', 'L', 0, 1])).toBeCloseTo(7, 5);
    expect(valueByKey(param(set, 'edges_sign'), ['L', 'T'])).toBe(1);
    expect(valueByKey(param(set, 'nodes_time_const'), 'T')).toBe(Math.fround(0.05));
  });

  it('names an unknown key', () => {
    expect(() => valueByKey(param(set, 'edges_sign'), ['L', 'R'])).toThrow("edges_sign: unknown key ('L', 'R')");
    expect(() => valueByKey(param(set, 'nodes_bias'), 'Q')).toThrow("nodes_bias: unknown key 'Q'");
    expect(() => getParameter(set, 'nodes_gain')).toThrow('nodes_gain: no such parameter');
  });

  it('gathering through the scatter indices equals looking each element up by key', () => {
    const c = tinyConnectome();
    const types = c.nodes.columns.type;
    if (types === undefined || !('kind' in types)) throw new Error('fixture');
    const bias = param(set, 'nodes_bias');
    const perNode = gather(bias.raw, bias.indices);
    perNode.forEach((v, i) => expect(v).toBe(valueByKey(bias, types.categories[types.codes[i]!]!)));
  });
});

describe('symmetry and clamp', () => {
  const symNode = () => {
    const node = defaultNodeConfig();
    return { ...node, bias: { ...node.bias, symmetric: [['R', 'T']] } };
  };

  it('builds symmetry groups from keys, with null as a wildcard in tuple keys', () => {
    const edge = defaultEdgeConfig();
    const set = init(symNode(), {
      ...edge,
      syn_strength: { ...edge.syn_strength, symmetric: [[['R', 'L'], ['T', 'L']], [[null, 'T']]] },
      syn_count: { ...edge.syn_count, symmetric: [[['L', 'T', null, null]]] },
    });
    expect(param(set, 'nodes_bias').symmetry.map((g) => Array.from(g))).toEqual([[0, 2]]);
    expect(param(set, 'edges_syn_strength').symmetry.map((g) => Array.from(g))).toEqual([[0, 2], [1, 3]]);
    expect(param(set, 'edges_syn_count').symmetry.map((g) => Array.from(g))).toEqual([[2, 4, 7]]);
  });

  it('names symmetry identifiers that match nothing or have the wrong shape', () => {
    const node = defaultNodeConfig();
    const edge = defaultEdgeConfig();
    expect(() => init({ ...node, bias: { ...node.bias, symmetric: [['R', 'X']] } })).toThrow(
      "node_config.bias.symmetric[0][1]: no parameter key matches 'X'",
    );
    expect(() => init(node, { ...edge, syn_strength: { ...edge.syn_strength, symmetric: [[['R', 'L', 0]]] } })).toThrow(
      'edge_config.syn_strength.symmetric[0][0]: expected a key of 2 entries (strings, numbers or null), got ["R","L",0]',
    );
    expect(() => init({ ...node, bias: { ...node.bias, symmetric: ['R'] } })).toThrow(
      "node_config.bias.symmetric[0]: expected a non-empty list of keys, got 'R'",
    );
  });

  it('clamps trainable parameters, ties symmetric groups to their mean, leaves the rest and the input alone', () => {
    const edge = defaultEdgeConfig();
    const set0 = init(symNode(), { ...edge, sign: { ...edge.sign, clamp: 'non_negative' } });
    const bias0 = param(set0, 'nodes_bias');
    const biasRaw = Float32Array.of(0.2, -0.4, 0.6);
    const strengthRaw = Float32Array.of(-1, 2, -3, 4);
    const signRaw = Float32Array.of(-1, 1, -1, 1); // violates the sign's clamp rule, which init applied
    const replaced: Record<string, Float32Array> = { bias: biasRaw, syn_strength: strengthRaw, sign: signRaw };
    const set1 = { ...set0, parameters: set0.parameters.map((p) => (replaced[p.name] ? { ...p, raw: replaced[p.name]! } : p)) };
    const byName = new Map(set1.parameters.map((p) => [p.stateDictName, p]));
    const clamped = clampParameters({ parameters: set1.parameters, byName });
    expect(Array.from(param(clamped, 'nodes_bias').raw)).toEqual(f32([0.4, -0.4, 0.4]));
    expect(Array.from(param(clamped, 'edges_syn_strength').raw)).toEqual([0, 2, 0, 4]);
    // sign is not trainable: its clamp rule is not applied.
    expect(Array.from(param(clamped, 'edges_sign').raw)).toEqual([-1, 1, -1, 1]);
    expect(param(clamped, 'edges_sign').raw).toBe(signRaw);
    expect(param(clamped, 'nodes_time_const').raw).toEqual(param(set0, 'nodes_time_const').raw);
    expect(Array.from(biasRaw)).toEqual(f32([0.2, -0.4, 0.6]));
    expect(Array.from(strengthRaw)).toEqual([-1, 2, -3, 4]);
    expect(bias0.raw).not.toBe(param(clamped, 'nodes_bias').raw);
  });

  it('registers a custom parameter type', () => {
    registerParameterType('TestCellCount', {
      table: 'nodes',
      groupFields: ({ grouping }) => ({ value: Array.from(grouping.counts) }),
    });
    const set = init({ ...defaultNodeConfig(), n: { type: 'TestCellCount', groupby: ['type'], initial_dist: 'Value', requires_grad: false } });
    const n = param(set, 'nodes_n');
    expect(Array.from(n.raw)).toEqual([2, 3, 1]);
    expect(set.parameters.map((p) => p.stateDictName).slice(0, 3)).toEqual(['nodes_bias', 'nodes_time_const', 'nodes_n']);
    expect(() => registerParameterType('TestCellCount', { table: 'nodes' })).toThrow("type: 'TestCellCount' is already registered");
  });
});
