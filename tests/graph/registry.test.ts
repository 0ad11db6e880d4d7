import { describe, expect, it } from 'vitest';
import { compileConnectome } from '../../src/graph/compile.ts';
import { completeConnectome } from '../../src/graph/complete.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { edgesDigest, nodesDigest } from '../../src/graph/digest.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';
import { getConnectome, initConnectome, registerConnectome, registeredConnectomes } from '../../src/graph/registry.ts';
import { categorical, makeTable } from '../../src/graph/table.ts';
import type { ConnectomeProtocol } from '../../src/graph/types.ts';

/** A user connectome that provides only what the protocol requires: N nodes, edges i -> i. */
function diagonal(options: Readonly<Record<string, unknown>>): ConnectomeProtocol {
  const n = options.n as number;
  const index = Int32Array.from({ length: n }, (_, i) => i);
  return {
    nodes: makeTable('nodes', { index }),
    edges: makeTable('edges', { source_index: index.slice(), target_index: index.slice() }),
  };
}

describe('connectome registry', () => {
  it('accepts a registered connectome that provides only node and edge indices', () => {
    registerConnectome('DiagonalConnectome', diagonal);
    expect(registeredConnectomes()).toContain('DiagonalConnectome');
    expect(getConnectome('DiagonalConnectome')).toBe(diagonal);
    const c = initConnectome({ type: 'DiagonalConnectome', n: 5 });
    expect(c.nodes.length).toBe(5);
    expect(Array.from(c.edges.columns.target_index as Int32Array)).toEqual([0, 1, 2, 3, 4]);
    expect(c.uniqueCellTypes).toEqual([]);
    expect(c.inputCellTypes).toEqual([]);
    expect(c.intermediateCellTypes).toEqual([]);
    expect(c.outputCellTypes).toEqual([]);
    expect(c.centralCellsIndex).toHaveLength(0);
    expect(c.layerIndex.size).toBe(0);
  });

  it('builds ConnectomeFromAvgFilters from a flyvis-style config', () => {
    const c = initConnectome({ type: 'ConnectomeFromAvgFilters', file: demoConnectomePath, extent: 2, n_syn_fill: 1 });
    const direct = compileConnectome(loadConnectomeSpec(demoConnectomePath), 2, 1);
    expect([nodesDigest(c), edgesDigest(c)]).toEqual([nodesDigest(direct), edgesDigest(direct)]);
    expect(c.intermediateCellTypes).toEqual(direct.intermediateCellTypes);
    expect(initConnectome({ type: 'ConnectomeFromAvgFilters', file: demoConnectomePath }).nodes.length).toBe(
      compileConnectome(loadConnectomeSpec(demoConnectomePath)).nodes.length,
    );
  });

  it('rejects an unknown type listing the registered ones, and bad ConnectomeFromAvgFilters options', () => {
    expect(() => initConnectome({ type: 'Nope' })).toThrow(/connectome type 'Nope' is not registered \(registered: ConnectomeFromAvgFilters/);
    expect(() => initConnectome({ type: 'ConnectomeFromAvgFilters' })).toThrow('file: expected the path of a connectome JSON file');
    expect(() => initConnectome({ type: 'ConnectomeFromAvgFilters', file: demoConnectomePath, extnt: 3 })).toThrow(
      'unknown option(s) extnt',
    );
    expect(() => initConnectome({ type: 'ConnectomeFromAvgFilters', file: demoConnectomePath, extent: '3' })).toThrow(
      'extent: expected a non-negative integer, got "3"',
    );
    expect(() => initConnectome({ type: 'ConnectomeFromAvgFilters', file: demoConnectomePath, extent: -2 })).toThrow(
      'extent: expected a non-negative integer, got -2',
    );
  });
});

describe('completeConnectome', () => {
  it('derives cell types, roles, central cells and the layer index from optional columns', () => {
    const codes = Int32Array.from([1, 1, 0, 2, 2, 1]);
    const c = completeConnectome({
      nodes: makeTable('nodes', {
        index: Int32Array.from([0, 1, 2, 3, 4, 5]),
        type: categorical(codes, ['Mi10', 'R1', 'Mi2']),
        role: categorical(Int32Array.from([0, 0, 1, 1, 1, 0]), ['input', 'intermediate', 'output']),
        u: Int32Array.from([0, 1, 0, 0, 0, 0]),
        v: Int32Array.from([0, 0, 0, 1, 0, -1]),
      }),
      edges: makeTable('edges', { source_index: Int32Array.from([0, 2]), target_index: Int32Array.from([2, 4]) }),
    });
    expect(c.uniqueCellTypes).toEqual(['Mi10', 'R1', 'Mi2']);
    expect(c.inputCellTypes).toEqual(['R1']);
    expect(c.outputCellTypes).toEqual([]);
    expect(c.intermediateCellTypes).toEqual(['Mi2', 'Mi10']);
    expect(Array.from(c.centralCellsIndex)).toEqual([0, 2, 4]);
    expect(Array.from(c.layerIndex.get('R1')!)).toEqual([0, 1, 5]);
    expect(Array.from(c.layerIndex.get('Mi2')!)).toEqual([3, 4]);
  });

  it('returns a complete connectome unchanged', () => {
    const c = compileConnectome(loadConnectomeSpec(demoConnectomePath), 1);
    expect(completeConnectome(c)).toBe(c);
  });

  it('names the missing or inconsistent protocol column', () => {
    const index = Int32Array.from([0, 1, 2]);
    const edges = (s: number[], t: number[]) =>
      makeTable('edges', { source_index: Int32Array.from(s), target_index: Int32Array.from(t) });
    expect(() => completeConnectome({ nodes: makeTable('nodes', { u: index }), edges: edges([], []) })).toThrow(
      'nodes.index: missing (required numeric column)',
    );
    expect(() => completeConnectome({ nodes: makeTable('nodes', { index }), edges: edges([0, 1], [2, 3]) })).toThrow(
      'edges.target_index[1]: expected a node index in [0, 3), got 3',
    );
    expect(() =>
      completeConnectome({ nodes: makeTable('nodes', { index }), edges: makeTable('edges', { source_index: index }) }),
    ).toThrow('edges.target_index: missing (required numeric column)');
    expect(() =>
      completeConnectome({ nodes: makeTable('nodes', { index, type: index }), edges: edges([], []) }),
    ).toThrow('nodes.type: expected a categorical column, got a numeric one');
    expect(() => makeTable('nodes', { index, u: Int32Array.from([0]) })).toThrow('nodes.u: expected 3 rows like nodes.index, got 1');
  });
});
