import { describe, expect, it } from 'vitest';
import { intermediateCellTypes, numericSortKey, orderNodeTypeList, roleOf } from '../../src/graph/cell-types.ts';

describe('cell types', () => {
  it("builds flyvis's numeric sort key from the first number", () => {
    expect(numericSortKey('Mi9')).toBe('Mi0009');
    expect(numericSortKey('Mi10')).toBe('Mi0010');
    expect(numericSortKey('CT1(M10)')).toBe('CT0001(M0001)');
    expect(numericSortKey('Am')).toBe('Am');
    expect(numericSortKey('X123456')).toBe('X123456');
  });

  it('orders by the groups R, L, Lawf, A, C, CT, Mi, T, Tm, then unmatched, each sorted numerically', () => {
    const shuffled = ['Tm2', 'zeta', 'Mi10', 'T4a', 'CT1(M10)', 'C3', 'Am', 'Lawf2', 'L5', 'R8', 'Mi9', 'CT1(Lo1)', 'R1', 'Beta', 'L1', 'T1'];
    expect(orderNodeTypeList(shuffled)).toEqual([
      'R1', 'R8', 'L1', 'L5', 'Lawf2', 'Am', 'C3', 'CT1(Lo1)', 'CT1(M10)', 'Mi9', 'Mi10', 'T1', 'T4a', 'Tm2', 'Beta', 'zeta',
    ]);
  });

  it('makes output take precedence over input, and leaves both out of the intermediate list', () => {
    const inputs = new Set(['R1', 'X']);
    const outputs = new Set(['X', 'T1']);
    expect(['R1', 'X', 'T1', 'L1'].map((t) => roleOf(t, inputs, outputs))).toEqual(['input', 'output', 'output', 'intermediate']);
    expect(intermediateCellTypes(['Mi10', 'R1', 'X', 'L2', 'Mi2', 'T1'], ['R1', 'X'], ['X', 'T1'])).toEqual(['L2', 'Mi2', 'Mi10']);
  });
});
