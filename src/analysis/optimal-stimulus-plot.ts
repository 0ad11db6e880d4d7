// The picture of an optimal stimulus, as flyvis's plot_stim_response (flyvis/analysis/
// optimal_stimuli.py) lays it out: for each movie, a row of its frames on the hexagonal eye and
// below it a row of the cell type's response (baseline, the first frame's response, subtracted)
// on its lattice, over the `seconds` (0.2) before the central cell's response peaks, `columns`
// (10) frames each, stimulus and response frames alternating in time as flyvis picks them; only
// the columns within `maxExtent` (6) of the centre are drawn. A Vega-Lite specification
// (platform-neutral); the command line renders it to PNG.
import type { TopLevelSpec } from 'vega-lite';
import type { Connectome } from '../graph/types.ts';
import { extentOfHexals, hexLattice } from '../stimuli/hex.ts';
import { AnalysisError } from './errors.ts';

export interface StimulusResponseRow {
  /** Shown beside the row, e.g. 'natural' or 'regularised'. */
  readonly label: string;
  /** (frames, hexals). */
  readonly stimulus: ArrayLike<number>;
  readonly shape: readonly [number, number];
  /** (frames, cells of the type), in the type's node order. */
  readonly response: ArrayLike<number>;
  readonly responseShape: readonly [number, number];
}

export interface OptimalStimulusFigureOptions {
  readonly dt: number;
  readonly columns?: number;
  readonly seconds?: number;
  readonly maxExtent?: number;
  readonly title?: string;
}

/** flyvis plot_stim_response's frames (peak_last): those shown as stimulus and as response, from the response (frames, cells). */
export function stimResponseFrames(response: ArrayLike<number>, frames: number, cells: number, dt: number, columns = 10, seconds = 0.2): { stimulus: number[]; response: number[]; peak: number } {
  const centre = cells >> 1;
  let peak = -1;
  for (let t = 0; t < frames; t++) {
    const x = response[t * cells + centre]! - response[centre]!; // baseline subtracted
    if (!Number.isNaN(x) && (peak < 0 || x > response[peak * cells + centre]! - response[centre]!)) peak = t;
  }
  if (peak < 0) throw new AnalysisError('figure: the central response is NaN in every frame');
  const steps = Math.trunc(seconds / dt);
  let [start, end] = [peak - steps, peak];
  if (start < 0) [start, end] = [0, steps];
  const window = Array.from({ length: Math.max(0, Math.min(end, frames) - start) }, (_, k) => start + k);
  if (window.length === 0) window.push(peak);
  // np.linspace(0, len, 2 columns, endpoint=False).astype(int)
  const picked = Array.from({ length: 2 * columns }, (_, k) => window[Math.trunc(k * (window.length / (2 * columns)))]!);
  return { stimulus: picked.filter((_, k) => k % 2 === 0), response: picked.filter((_, k) => k % 2 === 1), peak };
}

const HEXAGON = 'M1,0L0.5,0.866L-0.5,0.866L-1,0L-0.5,-0.866L0.5,-0.866Z';
const pixel = (u: number, v: number) => ({ x: 1.5 * v, y: -Math.sqrt(3) * (u + v / 2) });
const near = (u: number, v: number, e: number) => Math.max(Math.abs(u), Math.abs(v), Math.abs(u + v)) <= e;

/** The stimulus-and-response picture of one or more movies for `cellType` (see the file's comment). */
export function optimalStimulusFigureSpec(connectome: Connectome, cellType: string, rows: readonly StimulusResponseRow[], options: OptimalStimulusFigureOptions): TopLevelSpec {
  const layer = connectome.layerIndex.get(cellType);
  if (layer === undefined) throw new AnalysisError(`figure: unknown cell type '${cellType}'`);
  if (rows.length === 0) throw new AnalysisError('figure: expected at least one movie');
  const { dt, columns = 10, seconds = 0.2, maxExtent = 6 } = options;
  if (!(dt > 0) || !Number.isInteger(columns) || columns < 1 || !(seconds > 0) || !(maxExtent >= 0)) {
    throw new AnalysisError(`figure: expected dt > 0, an integer number of columns >= 1, seconds > 0 and maxExtent >= 0, got ${dt}, ${columns}, ${seconds}, ${maxExtent}`);
  }
  const u = connectome.nodes.columns.u as ArrayLike<number>;
  const v = connectome.nodes.columns.v as ArrayLike<number>;
  const px = 3;
  const extents = rows.map((r) => extentOfHexals(r.shape[1]) ?? 0);
  const range = Math.min(maxExtent, Math.max(...extents)) + 1;
  const xDomain = [-1.5 * range, 1.5 * range];
  const yDomain = [-Math.sqrt(3) * range, Math.sqrt(3) * range];
  const panel = (values: object[], label: string, color: object, legend: string) => ({
    title: { text: label, anchor: 'start', fontSize: 11 },
    data: { values },
    facet: { column: { field: 'panel', type: 'ordinal', sort: null, header: { title: null, labelFontSize: 9 } } },
    spec: {
      width: Math.round((xDomain[1]! - xDomain[0]!) * px),
      height: Math.round((yDomain[1]! - yDomain[0]!) * px),
      mark: { type: 'point', shape: HEXAGON, filled: true, opacity: 1, size: (2 * px) ** 2, strokeWidth: 0 },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: { domain: xDomain, nice: false, zero: false }, axis: null },
        y: { field: 'y', type: 'quantitative', scale: { domain: yDomain, nice: false, zero: false }, axis: null },
        color: { field: 'value', type: 'quantitative', title: legend, scale: color },
      },
    },
  });
  const vconcat = rows.flatMap((row) => {
    const [T, H] = row.shape;
    const [Tr, C] = row.responseShape;
    const extent = extentOfHexals(H);
    if (extent === undefined || row.stimulus.length !== T * H) throw new AnalysisError(`figure: ${row.label} stimulus: expected (frames, hexals of a full lattice), got shape (${T}, ${H})`);
    if (Tr !== T || C !== layer.length || row.response.length !== T * C) {
      throw new AnalysisError(`figure: ${row.label} response: expected shape (${T}, ${layer.length}), got (${Tr}, ${C})`);
    }
    const lat = hexLattice(extent);
    const frames = stimResponseFrames(row.response, T, C, dt, columns, seconds);
    const label = (t: number) => `${(t * dt).toFixed(2)} s`;
    const stim: object[] = [];
    const seen = new Set<number>();
    frames.stimulus.forEach((t) => {
      if (seen.has(t)) return;
      seen.add(t);
      for (let h = 0; h < H; h++) if (near(lat.u[h]!, lat.v[h]!, maxExtent)) stim.push({ panel: label(t), value: row.stimulus[t * H + h], ...pixel(lat.u[h]!, lat.v[h]!) });
    });
    const resp: object[] = [];
    let crange = 0;
    seen.clear();
    frames.response.forEach((t) => {
      if (seen.has(t)) return;
      seen.add(t);
      for (let j = 0; j < C; j++) {
        const node = layer[j]!;
        if (!near(u[node]!, v[node]!, maxExtent)) continue;
        const value = row.response[t * C + j]! - row.response[j]!;
        crange = Math.max(crange, Math.abs(value));
        resp.push({ panel: label(t), value, ...pixel(u[node]!, v[node]!) });
      }
    });
    crange ||= 1;
    return [
      panel(stim, `${row.label}: stimulus`, { domain: [0, 1], scheme: 'greys', reverse: true }, 'luminance'),
      panel(resp, `${row.label}: ${cellType} response (baseline subtracted)`, { domain: [-crange, crange], scheme: 'blueorange' }, 'response (a.u.)'),
    ];
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    title: { text: options.title ?? `${cellType}: optimal stimulus`, subtitle: 'hexagonal lattice as flyvis draws it: +v right, +u down' },
    vconcat,
    resolve: { scale: { color: 'independent' } },
    config: { view: { stroke: null } },
  } as unknown as TopLevelSpec;
}
