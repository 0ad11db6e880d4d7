import { describe, expect, it } from 'vitest';
import { compileConnectome } from '../../src/graph/compile.ts';
import { hexLatticeSize, patternPositions } from '../../src/graph/lattice.ts';
import { cellValue, isCategorical, type Column, type Connectome } from '../../src/graph/types.ts';
import { CONNECTOME_FILE, hasShared } from '../helpers/shared.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';
import { smallDocument, specOf } from './specs.ts';

const values = (c: Column | undefined): (string | number)[] => {
  if (c === undefined) throw new Error('missing column');
  const n = isCategorical(c) ? c.codes.length : c.length;
  return Array.from({ length: n }, (_, i) => cellValue(c, i));
};
const col = (c: Connectome, table: 'nodes' | 'edges', name: string) => values(c[table].columns[name]);
const positions = (p: { u: Int32Array; v: Int32Array }) => Array.from(p.u, (u, i) => [u, p.v[i]]);

describe('lattice', () => {
  it("enumerates the hexagonal lattice in flyvis's order (u outer, v inner)", () => {
    expect(positions(patternPositions({ kind: 'stride', uStride: 1, vStride: 1 }, 1))).toEqual([
      [-1, 0], [-1, 1], [0, -1], [0, 0], [0, 1], [1, -1], [1, 0],
    ]);
    expect(positions(patternPositions({ kind: 'tile', stride: 2 }, 2))).toEqual([
      [-2, 0], [-2, 2], [0, -2], [0, 0], [0, 2], [2, -2], [2, 0],
    ]);
    expect(positions(patternPositions({ kind: 'stride', uStride: 3, vStride: 2 }, 3))).toEqual([
      [-3, 0], [-3, 2], [0, -2], [0, 0], [0, 2], [3, -2], [3, 0],
    ]);
    expect(positions(patternPositions({ kind: 'single' }, 7))).toEqual([[0, 0]]);
    expect(patternPositions({ kind: 'stride', uStride: 1, vStride: 1 }, 15).u).toHaveLength(721);
    expect([0, 1, 2, 15].map(hexLatticeSize)).toEqual([1, 7, 19, 721]);
  });
});

describe('compileConnectome', () => {
  const c = compileConnectome(specOf(smallDocument()), 1, 1);

  it('builds nodes per cell type in spec order, with type and role', () => {
    expect(c.nodes.length).toBe(17);
    expect(col(c, 'nodes', 'index')).toEqual(Array.from({ length: 17 }, (_, i) => i));
    expect(col(c, 'nodes', 'type')).toEqual([...'AAAAAAABBBBBBBCCC']);
    expect(col(c, 'nodes', 'role')).toEqual([
      ...Array(7).fill('input'),
      ...Array(7).fill('intermediate'),
      ...Array(3).fill('output'),
    ]);
    expect(col(c, 'nodes', 'u')).toEqual([-1, -1, 0, 0, 0, 1, 1, -1, -1, 0, 0, 0, 1, 1, 0, 0, 0]);
    expect(col(c, 'nodes', 'v')).toEqual([0, 1, -1, 0, 1, -1, 0, 0, 1, -1, 0, 1, -1, 0, -1, 0, 1]);
  });

  it('connects every source cell to the target at its position plus each offset, hull fill included', () => {
    // Worked out by hand from the rules in ../shared/golden/README.md.
    const expected = [
      // A -> B, (0, 0): sign -1, n_syn 3, lambda_mult 1.5
      ...[0, 1, 2, 3, 4, 5, 6].map((i) => [i, i + 7, -1, 3, 1.5, 0, 0]),
      // B -> C: (0, 0), (1, 0), (0, 1); the hull adds nothing ((1, 1) is outside)
      [9, 14, 1, 2, 0.75, 0, 0], [10, 15, 1, 2, 0.75, 0, 0], [11, 16, 1, 2, 0.75, 0, 0],
      [7, 15, 1, 1, 0.75, 1, 0], [8, 16, 1, 1, 0.75, 1, 0],
      [9, 15, 1, 4, 0.75, 0, 1], [10, 16, 1, 4, 0.75, 0, 1],
      // A -> C: the diamond (-1, 0), (1, 0), (0, -1), (0, 1), then the filled centre (0, 0)
      [5, 14, 1, 1, 3, -1, 0], [6, 15, 1, 1, 3, -1, 0],
      [0, 15, 1, 1, 3, 1, 0], [1, 16, 1, 1, 3, 1, 0],
      [3, 14, 1, 2, 3, 0, -1], [4, 15, 1, 2, 3, 0, -1],
      [2, 15, 1, 2, 3, 0, 1], [3, 16, 1, 2, 3, 0, 1],
      [2, 14, 1, 1, 3, 0, 0], [3, 15, 1, 1, 3, 0, 0], [4, 16, 1, 1, 3, 0, 0],
    ];
    const names = ['source_index', 'target_index', 'sign', 'n_syn', 'n_syn_certainty', 'du', 'dv'];
    const got = names.map((n) => col(c, 'edges', n));
    expect(c.edges.length).toBe(expected.length);
    expect(expected.map((_, i) => got.map((g) => g[i]))).toEqual(expected);
  });

  it('fills the convenience edge columns from the endpoints', () => {
    const u = col(c, 'nodes', 'u');
    const v = col(c, 'nodes', 'v');
    const type = col(c, 'nodes', 'type');
    const src = col(c, 'edges', 'source_index') as number[];
    const tgt = col(c, 'edges', 'target_index') as number[];
    expect(col(c, 'edges', 'source_type')).toEqual(src.map((i) => type[i]));
    expect(col(c, 'edges', 'target_type')).toEqual(tgt.map((i) => type[i]));
    expect(col(c, 'edges', 'source_u')).toEqual(src.map((i) => u[i]));
    expect(col(c, 'edges', 'target_u')).toEqual(tgt.map((i) => u[i]));
    expect(col(c, 'edges', 'source_v')).toEqual(src.map((i) => v[i]));
    expect(col(c, 'edges', 'target_v')).toEqual(tgt.map((i) => v[i]));
    expect(c.edges.columns.source_index).toBeInstanceOf(Int32Array);
    expect(c.edges.columns.sign).toBeInstanceOf(Float32Array);
    expect(c.edges.columns.n_syn_certainty).toBeInstanceOf(Float32Array);
    expect(c.edges.columns.du).toBeInstanceOf(Int32Array);
  });

  it('derives cell type lists, central cells and the layer index', () => {
    expect(c.uniqueCellTypes).toEqual(['A', 'B', 'C']);
    expect(c.inputCellTypes).toEqual(['A']);
    expect(c.intermediateCellTypes).toEqual(['B']);
    expect(c.outputCellTypes).toEqual(['C']);
    expect(Array.from(c.centralCellsIndex)).toEqual([3, 10, 15]);
    expect([...c.layerIndex.keys()]).toEqual(['A', 'B', 'C']);
    expect(Array.from(c.layerIndex.get('C')!)).toEqual([14, 15, 16]);
    expect(Array.from(c.layerIndex.get('B')!)).toEqual([7, 8, 9, 10, 11, 12, 13]);
  });

  it('gives filled offsets n_syn_fill synapses, and n_syn_fill = 0 disables the fill', () => {
    const spec = specOf(smallDocument());
    const filledCount = (k: ReturnType<typeof compileConnectome>) =>
      col(k, 'edges', 'n_syn').filter((n, i) => n === 0.25 && col(k, 'edges', 'du')[i] === 0).length;
    expect(filledCount(compileConnectome(spec, 1, 0.25))).toBe(3);
    expect(compileConnectome(spec, 1, 0).edges.length).toBe(c.edges.length - 3);
    expect(compileConnectome(spec, { extent: 1, nSynFill: 1 }).edges.columns).toEqual(c.edges.columns);
    // Default extent 15: 721 cells per stride-1 type; C (stride [2, 1]) has 31 - |u| cells per even u.
    const strided = [0, 2, 4, 6, 8, 10, 12, 14].reduce((n, u) => n + (u === 0 ? 1 : 2) * (31 - u), 0);
    expect(compileConnectome(spec).nodes.length).toBe(721 * 2 + strided);
  });

  it('rejects a bad extent or n_syn_fill naming the option', () => {
    const spec = specOf(smallDocument());
    expect(() => compileConnectome(spec, -1)).toThrow('extent: expected a non-negative integer, got -1');
    expect(() => compileConnectome(spec, 1.5)).toThrow('extent: expected a non-negative integer, got 1.5');
    expect(() => compileConnectome(spec, 2, -0.5)).toThrow('n_syn_fill: expected a finite number >= 0, got -0.5');
    expect(() => compileConnectome(spec, { nSynFill: Number.NaN })).toThrow('n_syn_fill: expected a finite number >= 0, got NaN');
  });
});

describe.skipIf(!hasShared)('compileConnectome on the flyvis connectome', () => {
  it("orders intermediate cell types as flyvis's order_node_type_list does", () => {
    const c = compileConnectome(loadConnectomeSpec(CONNECTOME_FILE), 0);
    // flyvis's layout table (flyvis/utils/nodes_edges_utils.py) lists them in this order.
    expect(c.intermediateCellTypes).toEqual([
      'L1', 'L2', 'L3', 'L4', 'L5', 'Lawf1', 'Lawf2', 'Am', 'C2', 'C3', 'CT1(Lo1)', 'CT1(M10)',
      'Mi1', 'Mi2', 'Mi3', 'Mi4', 'Mi9', 'Mi10', 'Mi11', 'Mi12', 'Mi13', 'Mi14', 'Mi15',
    ]);
    expect(c.inputCellTypes).toEqual(['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8']);
    expect(c.outputCellTypes).toHaveLength(34);
    expect(Array.from(c.centralCellsIndex)).toEqual(Array.from({ length: 65 }, (_, i) => i));
  });
});
