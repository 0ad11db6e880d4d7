// flyvis's convex-hull fill of an edge type's offsets: the lattice offsets inside the convex
// hull of the reported ones, which have no reported synapse count, get n_syn = n_syn_fill.
// The inside test is the exact even-odd crossing rule flyvis inherits from matplotlib's
// Path.contains_points, so offsets on the hull boundary come out exactly as in flyvis.
import { BYTES_PER_OFFSET, checkMemory, formatCount, hullScanPoints, type BudgetOptions } from '../budget.ts';
import type { OffsetSpec } from './spec.ts';

export type Point = readonly [number, number];

const cross = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

/**
 * The strict convex hull of `points` (no collinear vertices), counter-clockwise, starting at
 * the lowest (x, then y) point. Collinear input gives its two end points, a single distinct
 * point gives one vertex.
 */
export function convexHull(points: readonly Point[]): Point[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const distinct = pts.filter((p, i) => i === 0 || p[0] !== pts[i - 1]![0] || p[1] !== pts[i - 1]![1]);
  if (distinct.length <= 2) return distinct;
  const chain = (ordered: readonly Point[]): Point[] => {
    const out: Point[] = [];
    for (const p of ordered) {
      while (out.length >= 2 && cross(out[out.length - 2]!, out[out.length - 1]!, p) <= 0) out.pop();
      out.push(p);
    }
    out.pop(); // the last point starts the other chain
    return out;
  };
  return [...chain(distinct), ...chain([...distinct].reverse())];
}

/**
 * The even-odd crossing test of the reference: walking the closed polygon's edges
 * (x0, y0) -> (x1, y1), an edge counts when `(y0 >= ty) != (y1 >= ty)` and
 * `((y1 - ty) * (x0 - x1) >= (x1 - tx) * (y0 - y1)) == (y1 >= ty)`; the point is inside when
 * the count is odd. Boundary points are in or out exactly as this rule says.
 */
export function insideByCrossingRule(polygon: readonly Point[], tx: number, ty: number): boolean {
  let inside = false;
  let prev = polygon[polygon.length - 1];
  for (const cur of polygon) {
    const [x0, y0] = prev!;
    const [x1, y1] = cur;
    const above1 = y1 >= ty;
    if (y0 >= ty !== above1 && ((y1 - ty) * (x0 - x1) >= (x1 - tx) * (y0 - y1)) === above1) inside = !inside;
    prev = cur;
  }
  return inside;
}

/** The bounding box of the offsets (one pass: no argument spreading, which fails on long lists). */
export function offsetBox(offsets: readonly OffsetSpec[]): { duMin: number; duMax: number; dvMin: number; dvMax: number } {
  let [duMin, duMax, dvMin, dvMax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const o of offsets) {
    if (o.du < duMin) duMin = o.du;
    if (o.du > duMax) duMax = o.du;
    if (o.dv < dvMin) dvMin = o.dv;
    if (o.dv > dvMax) dvMax = o.dv;
  }
  return { duMin, duMax, dvMin, dvMax };
}

/** Options of `fillHull`. */
export interface FillOptions {
  /**
   * Fill only offsets with |du|, |dv| and |du + dv| at most `window` (the reported offsets are
   * all kept). The compiler passes 2 * extent: farther offsets connect no cells, so the graph is
   * the same, and the work is bounded by the lattice instead of by the offsets' spread.
   */
  readonly window?: number;
  /** The memory budget for the points scanned (see src/budget.ts). */
  readonly budget?: BudgetOptions;
}

/** Points the fill scans for these offsets (0 when no fill happens): see `hullScanPoints`. */
export function fillScanPoints(offsets: readonly OffsetSpec[], nSynFill: number, window?: number): number {
  return nSynFill > 0 && offsets.length >= 3 ? hullScanPoints(offsetBox(offsets), window) : 0;
}

/**
 * flyvis's `fill_hull`: the reported offsets, followed by every integer offset of their
 * bounding box (du outer, dv inner, ascending) that is not reported and lies inside their
 * convex hull by `insideByCrossingRule`, each with n_syn = `nSynFill`. With `window`, only
 * offsets inside it are filled. Throws `BudgetError` before scanning when the box holds more
 * points than the memory budget allows (`BYTES_PER_OFFSET` each).
 */
export function fillHull(offsets: readonly OffsetSpec[], nSynFill: number, options: FillOptions = {}): OffsetSpec[] {
  if (offsets.length === 0) return [];
  const box = offsetBox(offsets);
  const w = options.window;
  const scan = hullScanPoints(box, w);
  checkMemory(
    `hull fill: ${offsets.length} offsets spanning du ${box.duMin}..${box.duMax}, dv ${box.dvMin}..${box.dvMax} give up to ${formatCount(scan)} offsets`,
    (offsets.length + scan) * BYTES_PER_OFFSET,
    options.budget,
  );
  const reported = new Set(offsets.map((o) => `${o.du},${o.dv}`));
  const hull = convexHull(offsets.map((o) => [o.du, o.dv] as const));
  const filled = [...offsets];
  const duLo = w === undefined ? box.duMin : Math.max(box.duMin, -w);
  const duHi = w === undefined ? box.duMax : Math.min(box.duMax, w);
  const dvLo = w === undefined ? box.dvMin : Math.max(box.dvMin, -w);
  const dvHi = w === undefined ? box.dvMax : Math.min(box.dvMax, w);
  for (let du = duLo; du <= duHi; du++) {
    for (let dv = dvLo; dv <= dvHi; dv++) {
      if (w !== undefined && Math.abs(du + dv) > w) continue;
      if (!reported.has(`${du},${dv}`) && insideByCrossingRule(hull, du, dv)) filled.push({ du, dv, nSyn: nSynFill });
    }
  }
  return filled;
}

/**
 * The offsets an edge type connects, as flyvis's `add_edges` chooses them: the reported ones,
 * hull-filled (`fillHull`) when `nSynFill > 0` and at least 3 offsets are reported.
 */
export function connectedOffsets(offsets: readonly OffsetSpec[], nSynFill: number, options: FillOptions = {}): readonly OffsetSpec[] {
  return nSynFill > 0 && offsets.length >= 3 ? fillHull(offsets, nSynFill, options) : offsets;
}
