// Vega-Lite specifications for the pictures researchers look at: activity traces of cell types'
// central cells over time, one frame of a cell type's activity on the hexagonal lattice, and a
// training run's loss curve. Each builder checks its input and names the field at fault.
import type { TopLevelSpec } from 'vega-lite';
import type { Connectome } from '../graph/types.ts';
import { PlotError } from './render.ts';

/** Activity as (frames, nNodes) or (batch, frames, nNodes), e.g. a Tensor or an .npy array. */
export interface ActivityArray {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

const BASE = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white' } as const;

function framesOf(activity: ActivityArray, nNodes: number, sample: number): { frames: number; offset: number } {
  const s = activity.shape;
  const ok = (s.length === 2 || s.length === 3) && s[s.length - 1] === nNodes;
  if (!ok) throw new PlotError(`activity: expected shape (frames, ${nNodes}) or (batch, frames, ${nNodes}), got (${s.join(', ')})`);
  const batch = s.length === 3 ? s[0]! : 1;
  if (!Number.isInteger(sample) || sample < 0 || sample >= batch) {
    throw new PlotError(`sample: expected an integer in [0, ${batch - 1}], got ${sample}`);
  }
  const frames = s[s.length - 2]!;
  return { frames, offset: sample * frames * nNodes };
}

function checkTypes(connectome: Connectome, cellTypes: readonly string[]): void {
  if (cellTypes.length === 0) throw new PlotError('cell types: expected at least one');
  const unknown = cellTypes.filter((t) => !connectome.layerIndex.has(t));
  if (unknown.length > 0) {
    throw new PlotError(`cell types: unknown ${unknown.map((t) => `'${t}'`).join(', ')} (this connectome has ${connectome.uniqueCellTypes.join(', ')})`);
  }
}

/** The node index of a cell type's central cell (u = v = 0). */
export function centralCell(connectome: Connectome, cellType: string): number {
  checkTypes(connectome, [cellType]);
  const k = connectome.uniqueCellTypes.indexOf(cellType);
  const index = connectome.centralCellsIndex[k];
  if (index === undefined) throw new PlotError(`${cellType}: no central cell`);
  return index;
}

export interface TracesOptions {
  readonly cellTypes: readonly string[];
  /** Seconds per frame (the x axis is time in seconds). */
  readonly dt: number;
  /** Which sample of a batch (default 0). */
  readonly sample?: number;
  readonly title?: string;
  /** Time of frame 0 (default dt: activity after the first step). */
  readonly t0?: number;
  readonly width?: number;
  readonly height?: number;
}

/** Line chart of the central cell's activity of each cell type over time: one trace per type. */
export function centralTracesSpec(connectome: Connectome, activity: ActivityArray, options: TracesOptions): TopLevelSpec {
  const { cellTypes, dt, sample = 0 } = options;
  if (!(dt > 0)) throw new PlotError(`dt: expected a positive number, got ${dt}`);
  checkTypes(connectome, cellTypes);
  const n = connectome.nodes.length;
  const { frames, offset } = framesOf(activity, n, sample);
  const t0 = options.t0 ?? dt;
  const values: { time: number; activity: number; cell_type: string }[] = [];
  for (const type of cellTypes) {
    const node = centralCell(connectome, type);
    for (let f = 0; f < frames; f++) {
      const a = Number(activity.data[offset + f * n + node]);
      values.push({ time: +(t0 + f * dt).toPrecision(12), activity: a, cell_type: type });
    }
  }
  return {
    ...BASE,
    title: options.title ?? 'Central-cell activity',
    width: options.width ?? 480,
    height: options.height ?? 260,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'time', type: 'quantitative', title: 'time (s)' },
      y: { field: 'activity', type: 'quantitative', title: 'activity (a.u.)', scale: { zero: false } },
      color: { field: 'cell_type', type: 'nominal', title: 'cell type', sort: [...cellTypes] },
    },
  } as TopLevelSpec;
}

export interface HexFrameOptions {
  readonly cellType: string;
  /** Frame index (negative counts from the end; default -1, the last). */
  readonly frame?: number;
  readonly sample?: number;
  readonly title?: string;
  /** Pixels per lattice unit (the hexagon radius; default from the extent, about 420 px wide). */
  readonly cellSize?: number;
}

/** Hexagon of radius 1 with a vertex on top (pointy-top), as a Vega symbol path. */
const HEXAGON = 'M0,-1L0.866,-0.5L0.866,0.5L0,1L-0.866,0.5L-0.866,-0.5Z';

/**
 * One frame of a cell type's activity on the hexagonal lattice: a hexagon per cell at its
 * (u, v) column, coloured by activity. Axial (u, v) to the plane: x = sqrt(3) (u + v / 2),
 * y = 1.5 v (pointy-top hexagons of radius 1, touching their neighbours).
 */
export function hexFrameSpec(connectome: Connectome, activity: ActivityArray, options: HexFrameOptions): TopLevelSpec {
  const { cellType, sample = 0 } = options;
  checkTypes(connectome, [cellType]);
  const n = connectome.nodes.length;
  const { frames, offset } = framesOf(activity, n, sample);
  const requested = options.frame ?? -1;
  const frame = requested < 0 ? frames + requested : requested;
  if (!Number.isInteger(requested) || frame < 0 || frame >= frames) {
    throw new PlotError(`frame: expected an integer in [${-frames}, ${frames - 1}], got ${requested}`);
  }
  const u = connectome.nodes.columns.u;
  const v = connectome.nodes.columns.v;
  if (!(u instanceof Int32Array || u instanceof Float32Array || u instanceof Float64Array) || !(v instanceof Int32Array || v instanceof Float32Array || v instanceof Float64Array)) {
    throw new PlotError('connectome: nodes need numeric u and v columns for a lattice plot');
  }
  const nodes = connectome.layerIndex.get(cellType)!;
  const values = Array.from(nodes, (node) => {
    const uu = u[node]!;
    const vv = v[node]!;
    return { u: uu, v: vv, x: Math.sqrt(3) * (uu + vv / 2), y: -1.5 * vv, activity: Number(activity.data[offset + frame * n + node]) };
  });
  const xs = values.map((d) => d.x);
  const ys = values.map((d) => d.y);
  const [x0, x1, y0, y1] = [Math.min(...xs) - 1, Math.max(...xs) + 1, Math.min(...ys) - 1, Math.max(...ys) + 1];
  const px = options.cellSize ?? Math.max(4, Math.min(40, 420 / (x1 - x0)));
  const axis = null;
  return {
    ...BASE,
    title: options.title ?? `${cellType} activity, frame ${frame}`,
    width: Math.round((x1 - x0) * px),
    height: Math.round((y1 - y0) * px),
    data: { values },
    mark: { type: 'point', shape: HEXAGON, filled: true, opacity: 1, size: (2 * px) ** 2, stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: { domain: [x0, x1], nice: false, zero: false }, axis },
      y: { field: 'y', type: 'quantitative', scale: { domain: [y0, y1], nice: false, zero: false }, axis },
      color: { field: 'activity', type: 'quantitative', title: 'activity', scale: { scheme: 'viridis' } },
      tooltip: [{ field: 'u' }, { field: 'v' }, { field: 'activity' }],
    },
    config: { view: { stroke: null } },
  } as TopLevelSpec;
}

/** A training run's loss per iteration, on a log scale (linear when a loss is exactly 0). */
export function lossCurveSpec(losses: readonly number[], options: { title?: string; width?: number; height?: number } = {}): TopLevelSpec {
  if (losses.length === 0) throw new PlotError('losses: expected at least one value');
  const bad = losses.findIndex((l) => !(l >= 0) || !Number.isFinite(l));
  if (bad !== -1) throw new PlotError(`losses[${bad}]: expected a finite number >= 0, got ${losses[bad]}`);
  // A log scale shows orders of magnitude; it cannot show an exact zero.
  const log = losses.every((l) => l > 0);
  return {
    ...BASE,
    title: options.title ?? 'Training loss',
    width: options.width ?? 480,
    height: options.height ?? 260,
    data: { values: losses.map((loss, i) => ({ iteration: i + 1, loss })) },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
      y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { type: log ? 'log' : 'linear' } },
    },
  } as TopLevelSpec;
}
