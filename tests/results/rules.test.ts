// flyvis's rules for results directories (src/results/rules.ts): numpy's argmin (first of ties,
// first NaN), checkpoint numbering and order, ranking, names, and the 0.1 -> 1.x config mapping.
import { describe, expect, it } from 'vitest';
import {
  ResultsError,
  checkpointNumber,
  compareCodePoints,
  isMemberName,
  mapNetworkConfig,
  numpyArgmin,
  numpyMin,
  orderCheckpoints,
  rankByLoss,
  resultsName,
} from '../../src/results/rules.ts';

describe('numpy argmin / min', () => {
  it('takes the first of equal minima', () => {
    expect(numpyArgmin([0.5, 0.1, 0.3, 0.1])).toBe(1);
    expect(numpyArgmin([2])).toBe(0);
    expect(numpyArgmin([])).toBe(-1);
  });
  it('takes the first NaN when there is one (NaN propagates through the minimum)', () => {
    expect(numpyArgmin([0.5, 0.1, NaN, 0.05, NaN])).toBe(2);
    expect(numpyMin([0.5, NaN, 0.1])).toBeNaN();
    expect(numpyMin([0.5, -Infinity, 0.1])).toBe(-Infinity);
  });
});

describe('checkpoints', () => {
  it("numbers a name by its first run of up to 10 digits, as flyvis's regex", () => {
    expect(checkpointNumber('chkpt_00012')).toBe(12);
    expect(checkpointNumber('chkpt_3_of_9')).toBe(3);
    expect(checkpointNumber('chkpt_123456789012')).toBe(1234567890);
    expect(checkpointNumber('chkpt_best')).toBeNull();
  });
  it('orders chkpt_* by number, equal numbers in name order, ignoring other names', () => {
    const { checkpoints, unnumbered } = orderCheckpoints(['chkpt_00010', 'notes.txt', 'chkpt_2', 'chkpt_00002', 'chkpt_00001', 'chkpt_x']);
    expect(checkpoints.map((c) => c.name)).toEqual(['chkpt_00001', 'chkpt_00002', 'chkpt_2', 'chkpt_00010']);
    expect(checkpoints.map((c) => c.index)).toEqual([1, 2, 2, 10]);
    expect(unnumbered).toEqual(['chkpt_x']);
  });
});

describe('ensembles', () => {
  it('ranks by loss: numbers ascending, then NaN, then no loss, ties in given order', () => {
    expect(rankByLoss([0.3, null, NaN, 0.1, 0.3, -1])).toEqual([5, 3, 0, 4, 2, 1]);
  });
  it('keeps numeric folder names (str.isnumeric) and sorts by code point', () => {
    expect(['0000', '12', '٣', 'a1', '1.0', '-1', ''].filter(isMemberName)).toEqual(['0000', '12', '٣']);
    expect(['b', 'B', 'a', '10', '9'].sort(compareCodePoints)).toEqual(['10', '9', 'B', 'a', 'b']);
  });
  it("names a network by its last three path components and an ensemble by two, as flyvis", () => {
    expect(resultsName('/x/results/opticflow/000/0007/', 3)).toBe('opticflow/000/0007');
    expect(resultsName('/x/results/flow/0000', 2)).toBe('flow/0000');
  });
});

describe('flyvis 0.1 network configs', () => {
  const config01 = (): Record<string, unknown> => ({
    connectome: { type: 'ConnectomeDir', file: 'fib25-fib19_v2.2.json', extent: 15, n_syn_fill: 1 },
    edge_config: {
      sign: { type: 'SynapseSign', groupby: ['source_type', 'target_type'] },
      syn_strength: { type: 'SynapseCountScaling', scale_elec: 0.02, scale_chem: 0.03, clamp: 'non_negative', groupby: ['source_type', 'target_type', 'edge_type'] },
    },
  });

  it('maps ConnectomeDir, drops a uniform edge_type and takes scale_chem for an all-chem connectome', () => {
    const input = config01();
    const { network, changes } = mapNetworkConfig(input, () => ['chem', 'chem'], 'meta');
    expect(network.connectome).toEqual({ type: 'ConnectomeFromAvgFilters', file: 'fib25-fib19_v2.2.json', extent: 15, n_syn_fill: 1 });
    const ss = (network.edge_config as Record<string, Record<string, unknown>>).syn_strength!;
    expect(ss.groupby).toEqual(['source_type', 'target_type']);
    expect(ss.scale).toBe(0.03);
    expect(ss).not.toHaveProperty('scale_chem');
    expect(ss).not.toHaveProperty('scale_elec');
    expect(changes).toHaveLength(3);
    expect((input.connectome as Record<string, unknown>).type).toBe('ConnectomeDir'); // the input is not changed
  });

  it('takes scale_elec for an all-elec connectome and scale 1 for other types, 0.01 when unset', () => {
    const ss = (types: string[], c = config01()): unknown =>
      ((mapNetworkConfig(c, () => types, 'm').network.edge_config as Record<string, Record<string, unknown>>).syn_strength!).scale;
    expect(ss(['elec'])).toBe(0.02);
    expect(ss(['gap'])).toBe(1);
    const unset = config01();
    delete ((unset.edge_config as Record<string, Record<string, unknown>>).syn_strength!).scale_chem;
    expect(ss(['chem'], unset)).toBe(0.01);
  });

  it('leaves a flyvis 1.x config unchanged without reading the connectome', () => {
    const c = { connectome: { type: 'ConnectomeFromAvgFilters', file: 'f.json' }, edge_config: { syn_strength: { type: 'SynapseCountScaling', scale: 0.01, groupby: ['source_type', 'target_type'] } } };
    const r = mapNetworkConfig(c, () => {
      throw new Error('read the connectome');
    }, 'm');
    expect(r.network).toEqual(c);
    expect(r.changes).toEqual([]);
  });

  it('refuses edge_type groups or per-type scales on a connectome with several edge types', () => {
    const err = (() => {
      try {
        mapNetworkConfig(config01(), () => ['chem', 'elec', 'chem'], '/r/_meta.yaml');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ResultsError);
    expect((err as ResultsError).message).toMatch(/^\/r\/_meta\.yaml: config\.network\.edge_config\.syn_strength groups by edge_type, but the connectome has edge types 'chem', 'elec'/);
  });
});
