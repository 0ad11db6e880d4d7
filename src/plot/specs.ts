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

/**
 * Colour-blind-safe categorical palette (Okabe & Ito, "Color Universal Design"): eight colours
 * that stay distinguishable with the common colour-vision deficiencies.
 */
export const OKABE_ITO = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'] as const;
/** ON (increments, bright edges) and OFF (decrements, dark edges): vermillion and blue (Okabe-Ito). */
export const ON_COLOR = '#D55E00';
export const OFF_COLOR = '#0072B2';
/** Dash patterns that, with the eight colours, tell up to 24 overlaid traces apart. */
const DASHES = [[1, 0], [6, 3], [2, 2]] as const;

export interface TimeMarker {
  /** Seconds, on the plot's time axis. */
  readonly time: number;
  /** A short label drawn at the top of the line, e.g. 'ON' or 'flash off'. */
  readonly label: string;
}

export interface TracesOptions {
  readonly cellTypes: readonly string[];
  /** Seconds per frame (the x axis is time in seconds). */
  readonly dt: number;
  /** Which sample of a batch (default 0). */
  readonly sample?: number;
  readonly title?: string;
  /** A second title line (default: says how the panels are scaled). */
  readonly subtitle?: string;
  /** Time of frame 0 (default dt: activity after the first step). */
  readonly t0?: number;
  /**
   * 'panels' (default): one small panel per cell type, each with its own y scale, so a type
   * with small responses is not flattened by one with large ones; 'overlay': every trace in one
   * chart on a shared scale (colour-blind-safe colours, dashes beyond eight types).
   */
  readonly layout?: 'panels' | 'overlay';
  /** Panels per row (layout 'panels'; default 1 up to 4 types, 2 up to 12, then 3). */
  readonly columns?: number;
  /** Vertical lines at stimulus events (e.g. flash on / off). */
  readonly markers?: readonly TimeMarker[];
  /** Whole-chart width (default 480) and height per panel (default 70) or of the overlay (default 260). */
  readonly width?: number;
  readonly height?: number;
}

/**
 * The central cell's activity of each cell type over time: by default small multiples with one
 * y scale per cell type (activity in arbitrary units, as flyvis's voltages), or one overlay.
 */
export function centralTracesSpec(connectome: Connectome, activity: ActivityArray, options: TracesOptions): TopLevelSpec {
  const { cellTypes, dt, sample = 0 } = options;
  if (!(dt > 0) || !Number.isFinite(dt)) throw new PlotError(`dt: expected a positive number, got ${dt}`);
  checkTypes(connectome, cellTypes);
  const n = connectome.nodes.length;
  const { frames, offset } = framesOf(activity, n, sample);
  const t0 = options.t0 ?? dt;
  const values: { time: number; activity: number; cell_type: string }[] = [];
  for (const type of cellTypes) {
    const node = centralCell(connectome, type);
    for (let f = 0; f < frames; f++) {
      const a = Number(activity.data[offset + f * n + node]);
      if (!Number.isFinite(a)) throw new PlotError(`activity: ${type} (central cell) is ${a} at frame ${f}; expected finite values`);
      values.push({ time: +(t0 + f * dt).toPrecision(12), activity: a, cell_type: type });
    }
  }
  const markers = options.markers ?? [];
  for (const m of markers) if (!Number.isFinite(m.time)) throw new PlotError(`markers: time of '${m.label}' is ${m.time}, expected a finite number`);
  const x = { field: 'time', type: 'quantitative', title: 'time (s)', scale: { nice: false } } as const;
  const markerLayers = markers.length === 0 ? [] : [
    { data: { values: markers.map((m) => ({ time: m.time, label: m.label })) }, mark: { type: 'rule', color: '#888888', strokeDash: [3, 3] }, encoding: { x: { field: 'time', type: 'quantitative' } } },
    {
      data: { values: markers.map((m) => ({ time: m.time, label: m.label })) },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, y: 2, fontSize: 9, color: '#555555' },
      encoding: { x: { field: 'time', type: 'quantitative' }, text: { field: 'label' } },
    },
  ];
  const width = options.width ?? 480;
  if ((options.layout ?? 'panels') === 'overlay') {
    const colours = cellTypes.map((_, i) => OKABE_ITO[i % OKABE_ITO.length]!);
    const dashes = cellTypes.map((_, i) => DASHES[Math.floor(i / OKABE_ITO.length) % DASHES.length]!);
    return {
      ...BASE,
      title: { text: options.title ?? 'Central-cell activity', subtitle: options.subtitle ?? 'activity in arbitrary units, one scale for all cell types' },
      width,
      height: options.height ?? 260,
      layer: [
        {
          data: { values },
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x,
            y: { field: 'activity', type: 'quantitative', title: 'activity (a.u.)', scale: { zero: false } },
            color: { field: 'cell_type', type: 'nominal', title: 'cell type', sort: [...cellTypes], scale: { domain: [...cellTypes], range: colours } },
            strokeDash: { field: 'cell_type', type: 'nominal', title: 'cell type', sort: [...cellTypes], scale: { domain: [...cellTypes], range: dashes.map((d) => [...d]) } },
          },
        },
        ...markerLayers,
      ],
    } as TopLevelSpec;
  }
  const columns = options.columns ?? (cellTypes.length <= 4 ? 1 : cellTypes.length <= 12 ? 2 : 3);
  if (!Number.isInteger(columns) || columns < 1) throw new PlotError(`columns: expected a positive integer, got ${columns}`);
  return {
    ...BASE,
    title: {
      text: options.title ?? 'Central-cell activity',
      subtitle: options.subtitle ?? 'one panel per cell type, each with its own activity scale (arbitrary units)',
    },
    data: { values },
    facet: { field: 'cell_type', type: 'nominal', sort: [...cellTypes], title: null, header: { labelFontSize: 11, labelFontWeight: 'bold', labelPadding: 2 } },
    columns,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: Math.max(120, Math.round(width / columns) - 20),
      height: options.height ?? 70,
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.5, color: OFF_COLOR },
          encoding: { x, y: { field: 'activity', type: 'quantitative', title: 'a.u.', scale: { zero: false }, axis: { tickCount: 3, minExtent: 48 } } },
        },
        ...markerLayers,
      ],
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
  /** Seconds per frame: the title then gives the frame's time (t = t0 + frame dt). */
  readonly dt?: number;
  /** Time of frame 0 in seconds (default dt, as centralTracesSpec: activity after the first step). */
  readonly t0?: number;
  /** The time of every frame in seconds (instead of dt and t0). */
  readonly times?: readonly number[];
}

/** Flat-top hexagon of radius 1 (flyvis's default lattice orientation), as a Vega symbol path. */
const HEXAGON = 'M1,0L0.5,0.866L-0.5,0.866L-1,0L-0.5,-0.866L0.5,-0.866Z';

/** Line segments of an arrow from (x, y) to `tip`, pointing along `d`: the shaft and two barbs. */
function arrow(x: number, y: number, tip: { x: number; y: number }, d: { x: number; y: number }): { x: number; y: number; x2: number; y2: number }[] {
  const n = Math.hypot(d.x, d.y);
  const [ux, uy] = [d.x / n, d.y / n];
  const barb = (sign: number) => {
    const a = Math.PI - (sign * Math.PI) / 7; // 25.7° off the shaft, pointing back
    return { x: tip.x, y: tip.y, x2: tip.x + 0.45 * (ux * Math.cos(a) - uy * Math.sin(a)), y2: tip.y + 0.45 * (ux * Math.sin(a) + uy * Math.cos(a)) };
  };
  return [{ x, y, x2: tip.x, y2: tip.y }, barb(1), barb(-1)];
}

/** Lattice position of column (u, v) as flyvis draws it (hex_to_pixel, mode 'default'): +v to the right, +u down. */
export function hexToPixel(u: number, v: number): { x: number; y: number } {
  return { x: 1.5 * v, y: -Math.sqrt(3) * (u + v / 2) };
}

/**
 * One frame of a cell type's activity on the hexagonal lattice: a hexagon per cell at its
 * (u, v) column, coloured by activity (viridis, colour-blind safe), oriented as flyvis draws
 * the lattice and as the stimuli are rendered (+v to the right, +u down; a direction of 0° is
 * rightward), with the u and v axes marked in a corner and the frame's time in the title.
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
  let time: number | undefined;
  if (options.times !== undefined) {
    if (options.times.length !== frames) throw new PlotError(`times: expected ${frames} values (one per frame), got ${options.times.length}`);
    time = options.times[frame];
    if (!Number.isFinite(time)) throw new PlotError(`times[${frame}]: expected a finite number, got ${time}`);
  } else if (options.dt !== undefined) {
    if (!(options.dt > 0) || !Number.isFinite(options.dt)) throw new PlotError(`dt: expected a positive number, got ${options.dt}`);
    const t0 = options.t0 ?? options.dt;
    if (!Number.isFinite(t0)) throw new PlotError(`t0: expected a finite number, got ${t0}`);
    time = t0 + frame * options.dt;
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
    const a = Number(activity.data[offset + frame * n + node]);
    if (!Number.isFinite(a)) throw new PlotError(`activity: ${cellType} at (u ${uu}, v ${vv}) is ${a} in frame ${frame}; expected finite values`);
    return { u: uu, v: vv, ...hexToPixel(uu, vv), activity: a };
  });
  const xs = values.map((d) => d.x);
  const ys = values.map((d) => d.y);
  // Room on the left for the orientation marks.
  const [x0, x1, y0, y1] = [Math.min(...xs) - 3.2, Math.max(...xs) + 1.2, Math.min(...ys) - 1.2, Math.max(...ys) + 1.2];
  const px = options.cellSize ?? Math.max(4, Math.min(40, 420 / (x1 - x0)));
  const scale = (domain: [number, number]) => ({ domain, nice: false, zero: false });
  // Orientation marks: unit arrows along +u and +v from the top-left corner.
  const ox = x0 + 0.6;
  const oy = y1 - 0.6;
  const axisLen = 1.6;
  const unitU = hexToPixel(1, 0);
  const unitV = hexToPixel(0, 1);
  const norm = (p: { x: number; y: number }) => Math.hypot(p.x, p.y);
  const tipU = { x: ox + (unitU.x / norm(unitU)) * axisLen, y: oy + (unitU.y / norm(unitU)) * axisLen };
  const tipV = { x: ox + (unitV.x / norm(unitV)) * axisLen, y: oy + (unitV.y / norm(unitV)) * axisLen };
  const when = time === undefined ? `frame ${frame}` : `t = ${+time.toFixed(4)} s (frame ${frame})`;
  return {
    ...BASE,
    title: { text: options.title ?? `${cellType} activity at ${when}`, subtitle: 'hexagonal lattice as flyvis draws it: +v right, +u down (0° = rightward)' },
    width: Math.round((x1 - x0) * px),
    height: Math.round((y1 - y0) * px),
    layer: [
      {
        data: { values },
        mark: { type: 'point', shape: HEXAGON, filled: true, opacity: 1, size: (2 * px) ** 2, stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: scale([x0, x1]), axis: null },
          y: { field: 'y', type: 'quantitative', scale: scale([y0, y1]), axis: null },
          color: { field: 'activity', type: 'quantitative', title: 'activity (a.u.)', scale: { scheme: 'viridis' } },
          tooltip: [{ field: 'u' }, { field: 'v' }, { field: 'activity' }],
        },
      },
      {
        // the two axes and their arrowheads (lines, so that every point mark is a cell)
        data: { values: [[unitU, tipU], [unitV, tipV]].flatMap(([d, tip]) => arrow(ox, oy, tip!, d!)) },
        mark: { type: 'rule', color: '#333333', strokeWidth: 1.2 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: scale([x0, x1]), axis: null },
          y: { field: 'y', type: 'quantitative', scale: scale([y0, y1]), axis: null },
          x2: { field: 'x2' },
          y2: { field: 'y2' },
        },
      },
      {
        data: { values: [{ x: tipU.x, y: tipU.y, label: '+u' }, { x: tipV.x, y: tipV.y, label: '+v' }] },
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 5, fontSize: 11, fontWeight: 'bold', color: '#333333' },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: scale([x0, x1]), axis: null },
          y: { field: 'y', type: 'quantitative', scale: scale([y0, y1]), axis: null },
          text: { field: 'label' },
        },
      },
    ],
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
