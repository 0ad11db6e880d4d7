// The hexagonal lattice in flyvis's oblique (u, v) coordinates: all points with |u|, |v| and
// |u + v| at most `extent`, enumerated as flyvis enumerates them (u outer, v inner, ascending).
import { patternStrides, type NodePattern } from './spec.ts';

/** Positions of one cell type's nodes, in node order. */
export interface LatticePositions {
  readonly u: Int32Array;
  readonly v: Int32Array;
}

/** Number of points of the full hexagonal lattice of radius `extent`: 3e(e + 1) + 1. */
export const hexLatticeSize = (extent: number): number => 3 * extent * (extent + 1) + 1;

/** True when (u, v) lies on the hexagonal lattice of radius `extent`. */
export const onHexLattice = (u: number, v: number, extent: number): boolean =>
  Math.abs(u) <= extent && Math.abs(v) <= extent && Math.abs(u + v) <= extent;

/**
 * The lattice points of radius `extent` kept by strides (su, sv), i.e. u % su == 0 and
 * v % sv == 0, in flyvis's order: u from -extent to extent, and for each u, v from
 * max(-extent, -extent - u) to min(extent, extent - u).
 */
export function stridedPositions(extent: number, uStride: number, vStride: number): LatticePositions {
  const keep = (u: number, v: number): boolean => u % uStride === 0 && v % vStride === 0;
  const visit = (f: (u: number, v: number) => void): void => {
    for (let u = -extent; u <= extent; u++) {
      const vEnd = Math.min(extent, extent - u);
      for (let v = Math.max(-extent, -extent - u); v <= vEnd; v++) if (keep(u, v)) f(u, v);
    }
  };
  let n = 0;
  visit(() => n++);
  const us = new Int32Array(n);
  const vs = new Int32Array(n);
  let i = 0;
  visit((u, v) => {
    us[i] = u;
    vs[i] = v;
    i++;
  });
  return { u: us, v: vs };
}

/** The positions of a cell type with this pattern (`single` is the extent-0 lattice: u = v = 0). */
export function patternPositions(pattern: NodePattern, extent: number): LatticePositions {
  const [su, sv] = patternStrides(pattern);
  return stridedPositions(pattern.kind === 'single' ? 0 : extent, su, sv);
}
