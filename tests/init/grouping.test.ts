import { describe, expect, it } from 'vitest';
import type { Table } from '../../src/graph/types.ts';
import { gather, groupMean, groupRows, scatterIndices } from '../../src/init/index.ts';
import { categorical } from './fixtures.ts';

const table = (columns: Table['columns'], length: number): Table => ({ length, columns });

describe('scatter indices (flyvis get_scatter_indices)', () => {
  it("holds flyvis's documented example", () => {
    const elements = ['A', 'A', 'A', 'B', 'B', 'C', 'D', 'D', 'E'];
    // Categories in another order than appearance: groups still follow first appearance.
    const t = table({ type: categorical(elements, ['E', 'D', 'C', 'B', 'A']) }, elements.length);
    const indices = scatterIndices(t, ['type']);
    expect(Array.from(indices)).toEqual([0, 0, 0, 1, 1, 2, 3, 3, 4]);
    expect(Array.from(gather([1, 2, 3, 4, 5], indices))).toEqual([1, 1, 1, 2, 2, 3, 4, 4, 5]);
  });

  it('numbers groups of several columns by first appearance and records first rows and counts', () => {
    const t = table(
      {
        a: categorical(['x', 'y', 'x', 'y', 'x', 'z']),
        b: Int32Array.from([1, 1, 2, 1, 1, 1]),
      },
      6,
    );
    const g = groupRows(t, ['a', 'b']);
    expect(Array.from(g.indices)).toEqual([0, 1, 2, 1, 0, 3]);
    expect(g.nGroups).toBe(4);
    expect(Array.from(g.firstRow)).toEqual([0, 1, 2, 5]);
    expect(Array.from(g.counts)).toEqual([2, 2, 1, 1]);
    // Column order does not change which rows share a group, nor the group order.
    expect(Array.from(groupRows(t, ['b', 'a']).indices)).toEqual([0, 1, 2, 1, 0, 3]);
  });

  it('groups wide-ranging and float columns (Map path) exactly like small integer ones', () => {
    const n = 2000;
    const small = Int32Array.from({ length: n }, (_, i) => (i * 7919) % 13);
    const wide = Int32Array.from(small, (x) => x * 10_000_000 - 5); // range > 2^20
    const float = Float64Array.from(small, (x) => x / 3);
    const other = Int32Array.from({ length: n }, (_, i) => (i * 31) % 5);
    const t = table({ small, wide, float, other }, n);
    const ref = Array.from(groupRows(t, ['small', 'other']).indices);
    expect(Array.from(groupRows(t, ['wide', 'other']).indices)).toEqual(ref);
    expect(Array.from(groupRows(t, ['float', 'other']).indices)).toEqual(ref);
    expect(Math.max(...ref) + 1).toBe(65);
  });

  it('handles empty tables', () => {
    const g = groupRows(table({ a: new Int32Array(0) }, 0), ['a']);
    expect(g.nGroups).toBe(0);
    expect(g.indices.length).toBe(0);
  });

  it('names the field and lists the columns when a column is unknown', () => {
    const t = table({ type: categorical(['A']), u: Int32Array.of(0) }, 1);
    expect(() => groupRows(t, ['type', 'typo'], { tableName: 'nodes', path: 'node_config.bias.groupby' })).toThrow(
      "node_config.bias.groupby[1]: unknown nodes column 'typo' (available: type, u)",
    );
  });

  it('refuses NaN keys, naming the field', () => {
    const t = table({ x: Float32Array.of(1, NaN) }, 2);
    expect(() => groupRows(t, ['x'], { path: 'p.groupby' })).toThrow('p.groupby[0]: cannot group by NaN (row 1)');
  });

  it('averages values over groups', () => {
    const t = table({ k: Int32Array.of(5, 3, 5, 3, 9) }, 5);
    const g = groupRows(t, ['k']);
    expect(Array.from(groupMean(g, [1, 2, 3, 6, 10]))).toEqual([2, 4, 10]);
  });
});
