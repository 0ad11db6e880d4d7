// The receptor lattice of the eye: the hexals (photoreceptor columns) of a hexagonal lattice of
// radius `extent` in flyvis's (u, v) coordinates and order (u outer, v inner), as
// BoxEye._receptor_centers, hex_center_coordinates and the R1..R8 nodes enumerate them.
import { stridedPositions } from '../graph/lattice.ts';
import { checkInteger } from './errors.ts';

export interface HexLattice {
  readonly extent: number;
  readonly u: Int32Array;
  readonly v: Int32Array;
  /** Number of hexals, 3e(e + 1) + 1. */
  readonly length: number;
}

/** The hexals of extent `extent` in flyvis's order. */
export function hexLattice(extent: number): HexLattice {
  checkInteger('extent', extent, 0);
  const { u, v } = stridedPositions(extent, 1, 1);
  return { extent, u, v, length: u.length };
}

/** The extent e with 3e(e + 1) + 1 = n, or undefined when n hexals do not fill a regular lattice. */
export function extentOfHexals(n: number): number | undefined {
  const e = Math.round((-3 + Math.sqrt(9 + 12 * (n - 1))) / 6);
  return 3 * e * (e + 1) + 1 === n ? e : undefined;
}

/** Hexagonal (cube) distance between (u1, v1) and (u2, v2). */
export const hexDistance = (u1: number, v1: number, u2: number, v2: number): number => {
  const du = u1 - u2;
  const dv = v1 - v2;
  return (Math.abs(du) + Math.abs(dv) + Math.abs(du + dv)) / 2;
};

/**
 * Indices of the hexals within hexagonal distance `radius` of (u, v) (flyvis's
 * HexLattice.filled_circle); radius -1 means the whole lattice.
 */
export function discIndices(lattice: HexLattice, radius: number, u = 0, v = 0): Int32Array {
  if (radius === -1) return Int32Array.from({ length: lattice.length }, (_, i) => i);
  checkInteger('radius', radius, 0);
  const out: number[] = [];
  for (let i = 0; i < lattice.length; i++) if (hexDistance(lattice.u[i]!, lattice.v[i]!, u, v) <= radius) out.push(i);
  return Int32Array.from(out);
}

/** Index of hexal (u, v), or -1 when it lies outside the lattice. */
export function hexalIndex(lattice: HexLattice, u: number, v: number): number {
  for (let i = 0; i < lattice.length; i++) if (lattice.u[i] === u && lattice.v[i] === v) return i;
  return -1;
}
