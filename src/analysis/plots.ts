// Plots of the analyses, as vega-lite specs (rendered by src/plot's renderSVG), drawn so that
// they do not overstate what the numbers say:
//   friBarChart: FRI per cell type (bars per flash radius, colour-blind-safe colours), the y axis
//     zoomed symmetrically to the largest |FRI| (and saying so), a zero line, axis titles;
//   dsiBarChart: DSI per cell type for ON and OFF edges, the threshold below which the preferred
//     direction is undefined drawn as a dashed line, cells below it marked with a hollow circle;
//   polarTuning: one polar panel per cell type (normalised peak response per direction, ON and
//     OFF overlaid, as flyvis plot_angular_tuning) with rings at 0.5 and 1, direction ticks and
//     labels, the preferred direction drawn where it is defined and each panel's DSI printed.
// `untrained: true` (the network has flyvis's initial parameters) is stated in every title.
import type { TopLevelSpec } from 'vega-lite';
import { OFF_COLOR, ON_COLOR } from '../plot/specs.ts';
import { DSI_THRESHOLD, type DsiRow, type TuningRow } from './dsi.ts';
import type { FriRow } from './fri.ts';
import { OFF_MOTION_TUNING, ON_MOTION_TUNING, PREFERRED_DIRECTIONS, polarityOf, sortOnOffUnknown } from './groundtruth.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const RADIUS_COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7'];
const UNTRAINED = 'untrained network (flyvis initialization, no --params)';

export interface AnalysisPlotOptions {
  /** The network has flyvis's initial parameters: said in the subtitle. */
  readonly untrained?: boolean;
  readonly title?: string;
}

export interface DsiPlotOptions extends AnalysisPlotOptions {
  /** DSI below which the preferred direction is undefined (default DSI_THRESHOLD). */
  readonly threshold?: number;
}

const subtitle = (lines: (string | false | undefined)[]): string[] => lines.filter((l): l is string => typeof l === 'string' && l !== '');
const edgeOf = (intensity: number): string => (intensity >= 0.5 ? 'ON edge' : 'OFF edge');
/** The smallest 1, 2 or 5 times a power of ten that is >= x. */
function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}
const fmt = (x: number): string => (x === 0 ? '0' : Math.abs(x) >= 0.01 ? x.toFixed(2) : x.toExponential(0));

export function friBarChart(rows: readonly FriRow[], cellTypes: readonly string[], options: AnalysisPlotOptions = {}): TopLevelSpec {
  const maxAbs = Math.max(0, ...rows.map((r) => Math.abs(r.fri)));
  const limit = Math.min(1, niceCeil(maxAbs * 1.05));
  const zoomed = limit < 1;
  const radii = [...new Set(rows.map((r) => r.radius))];
  const radiusLabel = (r: number): string => (r === -1 ? 'full field' : `disc, radius ${r}`);
  return {
    $schema: SCHEMA,
    background: 'white',
    title: {
      text: options.title ?? 'Flash response index per cell type (central cells)',
      subtitle: subtitle([
        'FRI > 0: stronger response to ON flashes (increments), < 0: to OFF flashes (decrements)',
        zoomed && `y axis zoomed to ±${limit} (the full range is ±1): every |FRI| here is below ${limit}`,
        options.untrained && UNTRAINED,
      ]),
    },
    width: Math.max(200, cellTypes.length * 14),
    height: 180,
    layer: [
      {
        data: { values: rows.map((r) => ({ cell_type: r.cell_type, flash: radiusLabel(r.radius), fri: r.fri })) },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'cell_type', type: 'nominal', sort: [...cellTypes], title: 'cell type', axis: { labelAngle: -90 } },
          xOffset: { field: 'flash', type: 'nominal', sort: radii.map(radiusLabel) },
          y: { field: 'fri', type: 'quantitative', scale: { domain: [-limit, limit] }, title: 'flash response index (FRI)' },
          color: { field: 'flash', type: 'nominal', sort: radii.map(radiusLabel), scale: { domain: radii.map(radiusLabel), range: RADIUS_COLORS.slice(0, radii.length) }, title: 'flash' },
          tooltip: [{ field: 'cell_type', title: 'cell type' }, { field: 'flash' }, { field: 'fri', format: '.3g' }],
        },
      },
      { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#333333', strokeWidth: 0.8 }, encoding: { y: { field: 'y', type: 'quantitative' } } },
    ],
  } as TopLevelSpec;
}

export function dsiBarChart(rows: readonly DsiRow[], cellTypes: readonly string[], options: DsiPlotOptions = {}): TopLevelSpec {
  const threshold = options.threshold ?? DSI_THRESHOLD;
  const maxDsi = Math.max(0, ...rows.map((r) => r.dsi));
  const limit = Math.min(1, niceCeil(Math.max(maxDsi, threshold * 10) * 1.05));
  const below = rows.filter((r) => r.dsi < threshold);
  const all = below.length === rows.length;
  const values = rows.map((r) => ({ cell_type: r.cell_type, edge: edgeOf(r.intensity), dsi: r.dsi, below: r.dsi < threshold, pd: r.preferred_direction_deg }));
  const x = { field: 'cell_type', type: 'nominal', sort: [...cellTypes], title: 'cell type', axis: { labelAngle: -90 } } as const;
  const color = { field: 'edge', type: 'nominal', scale: { domain: ['ON edge', 'OFF edge'], range: [ON_COLOR, OFF_COLOR] }, title: null } as const;
  return {
    $schema: SCHEMA,
    background: 'white',
    title: {
      text: options.title ?? 'Direction selectivity index per cell type (moving edges, central cells)',
      subtitle: subtitle([
        `dashed line: DSI ${threshold}; below it (hollow circles) the preferred direction is undefined`,
        all
          ? `every DSI is below ${threshold} (largest ${fmt(maxDsi)}): no cell type is direction selective`
          : below.length > 0 && `${below.length} of ${rows.length} DSIs are below ${threshold}`,
        limit < 1 && `y axis up to ${limit} (the full range is 0 to 1)`,
        options.untrained && UNTRAINED,
      ]),
    },
    width: Math.max(200, cellTypes.length * 14),
    height: 180,
    layer: [
      {
        data: { values },
        mark: { type: 'bar' },
        encoding: {
          x,
          xOffset: { field: 'edge', type: 'nominal', sort: ['ON edge', 'OFF edge'] },
          y: { field: 'dsi', type: 'quantitative', scale: { domain: [0, limit] }, title: 'direction selectivity index (DSI)' },
          color,
          tooltip: [{ field: 'cell_type', title: 'cell type' }, { field: 'edge' }, { field: 'dsi', format: '.3g' }, { field: 'pd', title: 'preferred direction (°)', format: '.0f' }],
        },
      },
      {
        data: { values: values.filter((v) => v.below) },
        mark: { type: 'point', shape: 'circle', filled: false, size: 22, strokeWidth: 1.2, yOffset: -4 },
        encoding: { x, xOffset: { field: 'edge', type: 'nominal', sort: ['ON edge', 'OFF edge'] }, y: { datum: 0, type: 'quantitative' }, color },
      },
      {
        data: { values: [{ y: threshold }] },
        mark: { type: 'rule', color: '#555555', strokeDash: [4, 3] },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

export interface PolarTuningOptions extends DsiPlotOptions {
  /** Panels per row (default 8). */
  readonly columns?: number;
  /** The DSI rows of the same responses: each panel then shows its DSIs and preferred directions. */
  readonly dsi?: readonly DsiRow[];
}

/**
 * Polar tuning curves, one panel per cell type. The third argument is the number of panels per
 * row (as before) or the options.
 */
export function polarTuning(rows: readonly TuningRow[], cellTypes: readonly string[], columnsOrOptions: number | PolarTuningOptions = {}): TopLevelSpec {
  const o: PolarTuningOptions = typeof columnsOrOptions === 'number' ? { columns: columnsOrOptions } : columnsOrOptions;
  const threshold = o.threshold ?? DSI_THRESHOLD;
  const columns = o.columns ?? 8;
  const points: Record<string, unknown>[] = [];
  const byKey = new Map<string, TuningRow[]>();
  for (const r of rows) {
    const key = `${r.cell_type}/${r.intensity}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const angles = [...new Set(rows.map((r) => r.angle))].sort((a, b) => a - b);
  const types = [...new Set(rows.map((r) => r.cell_type))];
  const rad = (deg: number): number => (deg * Math.PI) / 180;
  for (const cell_type of types) {
    for (let i = 0; i <= 48; i++) {
      const a = (i * Math.PI) / 24;
      points.push({ cell_type, layer: 'ring', ring: 1, order: i, x: Math.cos(a), y: Math.sin(a) });
      points.push({ cell_type, layer: 'ring', ring: 0.5, order: i, x: 0.5 * Math.cos(a), y: 0.5 * Math.sin(a) });
    }
    for (const angle of angles) {
      // a tick at every measured direction, from the outer ring outwards
      points.push({ cell_type, layer: 'tick', x: 0.92 * Math.cos(rad(angle)), y: 0.92 * Math.sin(rad(angle)), x2: 1.12 * Math.cos(rad(angle)), y2: 1.12 * Math.sin(rad(angle)) });
    }
    for (const [angle, label] of [[0, '0°'], [90, '90°'], [180, '180°'], [270, '270°']] as const) {
      const r = angle % 180 === 0 ? 1.32 : 1.24;
      points.push({ cell_type, layer: 'label', x: r * Math.cos(rad(angle)), y: r * Math.sin(rad(angle)), text: label });
    }
  }
  for (const list of byKey.values()) {
    const sorted = [...list].sort((a, b) => a.angle - b.angle);
    const r0 = sorted[0]!;
    const responsive = sorted.some((r) => r.peak_response > 0);
    [...sorted, r0].forEach((r, order) => {
      const a = rad(r.angle);
      points.push({ cell_type: r.cell_type, layer: 'curve', edge: edgeOf(r.intensity), order, x: r.normalized * Math.cos(a), y: r.normalized * Math.sin(a), angle: r.angle, response: r.peak_response });
    });
    if (!responsive) points.push({ cell_type: r0.cell_type, layer: 'note', edge: edgeOf(r0.intensity), x: 0, y: r0.intensity >= 0.5 ? 0.2 : -0.2, text: `no ${r0.intensity >= 0.5 ? "ON" : "OFF"} response` });
  }
  const dsiOf = new Map((o.dsi ?? []).map((d) => [`${d.cell_type}/${edgeOf(d.intensity)}`, d]));
  for (const d of o.dsi ?? []) {
    const edge = edgeOf(d.intensity);
    if (d.preferred_direction_deg !== null) {
      const a = rad(d.preferred_direction_deg);
      // length = DSI (the normalised vector sum): a weak preference is drawn short
      points.push({ cell_type: d.cell_type, layer: 'pd', edge, x: 0, y: 0, x2: Math.min(1, d.dsi) * Math.cos(a), y2: Math.min(1, d.dsi) * Math.sin(a) });
    }
  }
  for (const cell_type of types) {
    const line = (edge: string): string => {
      const d = dsiOf.get(`${cell_type}/${edge}`);
      if (d === undefined) return '';
      const short = edge === 'ON edge' ? 'ON' : 'OFF';
      return d.preferred_direction_deg === null ? `${short} DSI ${fmt(d.dsi)} (< ${threshold})` : `${short} DSI ${fmt(d.dsi)} at ${d.preferred_direction_deg.toFixed(0)}°`;
    };
    if (o.dsi !== undefined) {
      points.push({ cell_type, layer: 'dsi', edge: 'ON edge', x: -1.5, y: -1.55, text: line('ON edge') });
      points.push({ cell_type, layer: 'dsi', edge: 'OFF edge', x: -1.5, y: -1.82, text: line('OFF edge') });
    }
  }
  const xDomain = [-1.5, 1.5] as const;
  const yDomain = [o.dsi !== undefined ? -1.95 : -1.4, 1.4] as const;
  const scale = { domain: [...xDomain], nice: false, zero: false };
  const yScale = { domain: [...yDomain], nice: false, zero: false };
  const panel = 96;
  // One unit is as long across as up: circles stay circles.
  const panelHeight = Math.round((panel * (yDomain[1] - yDomain[0])) / (xDomain[1] - xDomain[0]));
  const axis = null;
  const xy = { x: { field: 'x', type: 'quantitative', axis, scale }, y: { field: 'y', type: 'quantitative', axis, scale: yScale } };
  const color = { field: 'edge', type: 'nominal', scale: { domain: ['ON edge', 'OFF edge'], range: [ON_COLOR, OFF_COLOR] }, title: null };
  const only = (layer: string) => [{ filter: `datum.layer === '${layer}'` }];
  const dsiValues = o.dsi ?? [];
  const allBelow = dsiValues.length > 0 && dsiValues.every((d) => d.preferred_direction_deg === null);
  return {
    $schema: SCHEMA,
    background: 'white',
    title: {
      text: o.title ?? 'Direction tuning per cell type (moving edges, central cells)',
      subtitle: subtitle([
        'peak response per direction, averaged over speeds, normalised to its maximum (rings at 0.5 and 1); 0° = rightward, 90° = up',
        o.dsi !== undefined && `thick lines from the centre: preferred direction, length = DSI, drawn where DSI ≥ ${threshold}`,
        allBelow && `every DSI is below ${threshold}: no preferred direction anywhere, the curves are (nearly) circles`,
        o.untrained && UNTRAINED,
      ]),
    },
    data: { values: points },
    facet: { field: 'cell_type', type: 'nominal', sort: [...cellTypes], title: null, header: { labelFontSize: 10, labelFontWeight: 'bold', labelPadding: 2 } },
    columns,
    spec: {
      width: panel,
      height: panelHeight,
      layer: [
        { transform: only('ring'), mark: { type: 'line', color: '#bbbbbb', strokeWidth: 0.6 }, encoding: { ...xy, detail: { field: 'ring' }, order: { field: 'order' } } },
        { transform: only('tick'), mark: { type: 'rule', color: '#777777', strokeWidth: 0.9 }, encoding: { ...xy, x2: { field: 'x2' }, y2: { field: 'y2' } } },
        { transform: only('label'), mark: { type: 'text', fontSize: 7, color: '#666666', baseline: 'middle', align: 'center' }, encoding: { ...xy, text: { field: 'text' } } },
        { transform: only('pd'), mark: { type: 'rule', strokeWidth: 2.2, strokeCap: 'round' }, encoding: { ...xy, x2: { field: 'x2' }, y2: { field: 'y2' }, color } },
        // ON solid, then OFF dashed on top: both stay visible where the curves coincide.
        ...(['ON edge', 'OFF edge'] as const).map((edge) => ({
          transform: [{ filter: `datum.layer === 'curve' && datum.edge === '${edge}'` }],
          mark: { type: 'line', strokeWidth: edge === 'ON edge' ? 1.8 : 1.3, ...(edge === 'OFF edge' ? { strokeDash: [3, 2] } : {}) },
          encoding: { ...xy, color, order: { field: 'order' } },
        })),
        { transform: only('note'), mark: { type: 'text', fontSize: 7, baseline: 'middle' }, encoding: { ...xy, text: { field: 'text' }, color } },
        { transform: only('dsi'), mark: { type: 'text', fontSize: 7.5, align: 'left', baseline: 'middle' }, encoding: { ...xy, text: { field: 'text' }, color } },
      ],
    },
    config: { view: { stroke: null } },
  } as TopLevelSpec;
}

// ---- ensembles -------------------------------------------------------------------------------
// flyvis-style distributions over an ensemble's members (flyvis's plot_fris and
// dsi_violins_on_and_off draw violins with each member as a dot; here a box of the quartiles,
// the median as a line, whiskers to the range, and every member as a dot), cell types ordered as
// flyvis orders them (known ON, known OFF, unknown), with their labels coloured by the known
// polarity; and the preferred directions of T4a-d / T5a-d of every member on polar axes.

const UNKNOWN_COLOR = '#999999';
const POLARITY_LEGEND = ['known ON', 'known OFF', 'unknown polarity'] as const;

export interface EnsemblePlotOptions {
  readonly title?: string;
  /** The ensemble's name ('opticflow/000'), said in the subtitle. */
  readonly ensemble?: string;
}

/** A deterministic spread of the members' dots within a cell type's band (0..1), by member order. */
const jitter = (i: number, n: number): number => (n <= 1 ? 0.5 : 0.2 + (0.6 * i) / (n - 1));

/** A label colour rule for an x axis of cell types: ON and OFF types coloured, others black. */
function labelColors(on: readonly string[], off: readonly string[]): Record<string, unknown> {
  const test = (types: readonly string[]): string => `indexof(${JSON.stringify(types)}, datum.value) >= 0`;
  return { condition: [{ test: test(on), value: ON_COLOR }, { test: test(off), value: OFF_COLOR }], value: '#000000' };
}

/** Box (quartiles), median line, range whiskers and member dots of one value per member and cell type. */
function distributionLayers(
  boxes: readonly Record<string, unknown>[],
  dots: readonly Record<string, unknown>[],
  x: Record<string, unknown>,
  y: Record<string, unknown>,
  color: Record<string, unknown>,
): Record<string, unknown>[] {
  const q = (f: string): Record<string, unknown> => ({ field: f, type: 'quantitative' });
  return [
    { data: { values: boxes }, mark: { type: 'rule', strokeWidth: 0.8 }, encoding: { x, y: { ...q('min'), ...y }, y2: q('max'), color } },
    { data: { values: boxes }, mark: { type: 'bar', opacity: 0.4, width: 10 }, encoding: { x, y: { ...q('q1'), ...y }, y2: q('q3'), color } },
    {
      data: { values: dots },
      // as flyvis's scatter over its violins: every network a dot, alpha 0.35
      mark: { type: 'circle', size: 6, opacity: 0.35, color: '#222222' },
      encoding: { x, xOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [0, 1] } }, y: { ...q('value'), ...y }, tooltip: [{ field: 'model' }, { field: 'value', format: '.3g' }] },
    },
    // the median on top of the dots
    { data: { values: boxes }, mark: { type: 'tick', thickness: 2.5, size: 12 }, encoding: { x, y: { ...q('median'), ...y }, color } },
  ];
}

/**
 * The FRI of every member per cell type at one flash radius (default 6, as flyvis's ensemble
 * plots): boxes coloured by the experimentally known polarity, cell types ordered known ON,
 * known OFF, unknown; the y axis from -1 to 1 with a zero line; how many known polarities the
 * median predicts in the subtitle.
 */
export function friDistribution(
  rows: readonly { readonly model: string; readonly cell_type: string; readonly radius: number; readonly fri: number }[],
  summary: readonly { readonly cell_type: string; readonly radius: number; readonly fri_median: number; readonly fri_q1: number; readonly fri_q3: number; readonly fri_min: number; readonly fri_max: number; readonly n_models: number }[],
  cellTypes: readonly string[],
  options: EnsemblePlotOptions & { readonly radius?: number; readonly known?: { readonly n_known: number; readonly n_predicted: number } | null } = {},
): TopLevelSpec {
  const radius = options.radius ?? 6;
  const order = sortOnOffUnknown(cellTypes);
  const on = order.filter((t) => polarityOf(t) === 1);
  const off = order.filter((t) => polarityOf(t) === -1);
  const group = (t: string): string => POLARITY_LEGEND[polarityOf(t) === 1 ? 0 : polarityOf(t) === -1 ? 1 : 2];
  const at = summary.filter((s) => s.radius === radius);
  const boxes = at.map((s) => ({ cell_type: s.cell_type, polarity: group(s.cell_type), median: s.fri_median, q1: s.fri_q1, q3: s.fri_q3, min: s.fri_min, max: s.fri_max }));
  const models = [...new Set(rows.map((r) => r.model))];
  const dots = rows.filter((r) => r.radius === radius).map((r) => ({ cell_type: r.cell_type, model: r.model, value: r.fri, jitter: jitter(models.indexOf(r.model), models.length) }));
  const n = Math.max(0, ...at.map((s) => s.n_models));
  const radiusText = radius === -1 ? 'full-field flashes' : `flashes of radius ${radius} columns`;
  const x = { field: 'cell_type', type: 'nominal', sort: order, title: 'cell type', axis: { labelAngle: -90, labelColor: labelColors(on, off) } };
  const color = { field: 'polarity', type: 'nominal', scale: { domain: [...POLARITY_LEGEND], range: [ON_COLOR, OFF_COLOR, UNKNOWN_COLOR] }, title: null };
  return {
    $schema: SCHEMA,
    background: 'white',
    title: {
      text: options.title ?? `Flash response index across ${n} networks${options.ensemble ? ` of ${options.ensemble}` : ''} (central cells)`,
      subtitle: subtitle([
        `${radiusText}; box: quartiles, line: median, whiskers: range, dots: the networks; FRI > 0 ON, < 0 OFF`,
        'colour: the polarity known from experiments (flyvis groundtruth_utils.polarity); known ON types first, then known OFF, then unknown',
        options.known != null && `the sign of the median FRI matches ${options.known.n_predicted} of ${options.known.n_known} known polarities`,
      ]),
    },
    width: Math.max(200, order.length * 15),
    height: 200,
    layer: [
      ...distributionLayers(boxes, dots, x, { scale: { domain: [-1, 1] }, title: 'flash response index (FRI)' }, color),
      { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#333333', strokeWidth: 0.6 }, encoding: { y: { field: 'y', type: 'quantitative' } } },
    ],
  } as unknown as TopLevelSpec;
}

/**
 * The DSI of every member per cell type, ON edges above and OFF edges below (as flyvis's
 * dsi_violins_on_and_off), y from 0 to 1, the threshold below which no direction is defined as a
 * dashed line; T4 labels in the ON colour and T5 in the OFF colour.
 */
export function dsiDistribution(
  rows: readonly { readonly model: string; readonly cell_type: string; readonly intensity: number; readonly dsi: number }[],
  summary: readonly { readonly cell_type: string; readonly intensity: number; readonly dsi_median: number; readonly dsi_q1: number; readonly dsi_q3: number; readonly dsi_min: number; readonly dsi_max: number; readonly n_models: number }[],
  cellTypes: readonly string[],
  options: EnsemblePlotOptions & { readonly threshold?: number } = {},
): TopLevelSpec {
  const threshold = options.threshold ?? DSI_THRESHOLD;
  const order = sortOnOffUnknown(cellTypes);
  const models = [...new Set(rows.map((r) => r.model))];
  const n = Math.max(0, ...summary.map((s) => s.n_models));
  const x = { field: 'cell_type', type: 'nominal', sort: order, title: 'cell type', axis: { labelAngle: -90, labelColor: labelColors(['T4a', 'T4b', 'T4c', 'T4d'], ['T5a', 'T5b', 'T5c', 'T5d']) } };
  const panel = (edge: 'ON edge' | 'OFF edge'): Record<string, unknown> => {
    const on = edge === 'ON edge';
    const mine = (i: number): boolean => (i >= 0.5) === on;
    const boxes = summary.filter((s) => mine(s.intensity)).map((s) => ({ cell_type: s.cell_type, edge, median: s.dsi_median, q1: s.dsi_q1, q3: s.dsi_q3, min: s.dsi_min, max: s.dsi_max }));
    const dots = rows.filter((r) => mine(r.intensity)).map((r) => ({ cell_type: r.cell_type, model: r.model, value: r.dsi, jitter: jitter(models.indexOf(r.model), models.length) }));
    const color = { field: 'edge', type: 'nominal', scale: { domain: ['ON edge', 'OFF edge'], range: [ON_COLOR, OFF_COLOR] }, title: null };
    return {
      width: Math.max(200, order.length * 15),
      height: 140,
      title: { text: on ? 'ON edges' : 'OFF edges', fontSize: 11, anchor: 'start' },
      layer: [
        ...distributionLayers(boxes, dots, on ? { ...x, axis: { ...x.axis, labels: true } } : x, { scale: { domain: [0, 1] }, title: `DSI, ${on ? 'ON' : 'OFF'} edges` }, color),
        { data: { values: [{ y: threshold }] }, mark: { type: 'rule', color: '#555555', strokeDash: [4, 3] }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      ],
    };
  };
  return {
    $schema: SCHEMA,
    background: 'white',
    title: {
      text: options.title ?? `Direction selectivity index across ${n} networks${options.ensemble ? ` of ${options.ensemble}` : ''} (moving edges, central cells)`,
      subtitle: subtitle([
        'box: quartiles, line: median, whiskers: range, dots: the networks; known ON types first, then known OFF, then unknown',
        `dashed line: DSI ${threshold}, below which a network's preferred direction is undefined; labels: T4 (ON motion) and T5 (OFF motion) types`,
      ]),
    },
    vconcat: [panel('ON edge'), panel('OFF edge')],
    resolve: { scale: { color: 'shared' } },
  } as unknown as TopLevelSpec;
}

/**
 * The preferred directions of T4a-d (ON edges) and T5a-d (OFF edges) of every member: one polar
 * panel per type, each member's preferred direction as a line from the centre of length DSI
 * (members whose DSI is below the threshold have none and are counted), the direction known
 * from experiments (flyvis groundtruth_utils.preferred_directions) dashed, the members' circular
 * mean as a thick line. 0° = rightward, 90° = up, as the stimuli are rendered.
 */
export function preferredDirectionsPolar(
  rows: readonly { readonly model: string; readonly cell_type: string; readonly intensity: number; readonly dsi: number; readonly preferred_direction_deg: number | null }[],
  options: EnsemblePlotOptions & { readonly threshold?: number } = {},
): TopLevelSpec {
  const threshold = options.threshold ?? DSI_THRESHOLD;
  const rad = (deg: number): number => (deg * Math.PI) / 180;
  const points: Record<string, unknown>[] = [];
  const panels = [...ON_MOTION_TUNING.map((t) => [t, 1] as const), ...OFF_MOTION_TUNING.map((t) => [t, 0] as const)]
    .filter(([t, i]) => rows.some((r) => r.cell_type === t && (r.intensity >= 0.5) === (i === 1)));
  const names = panels.map(([t, i]) => `${t}, ${i === 1 ? 'ON' : 'OFF'} edges`);
  const models = new Set(rows.map((r) => r.model));
  panels.forEach(([cellType, intensity], p) => {
    const panel = names[p]!;
    const edge = intensity === 1 ? 'ON edge' : 'OFF edge';
    for (let i = 0; i <= 48; i++) {
      const a = (i * Math.PI) / 24;
      for (const ring of [0.5, 1]) points.push({ panel, layer: 'ring', ring, order: i, x: ring * Math.cos(a), y: ring * Math.sin(a) });
    }
    for (const [angle, label] of [[0, '0°'], [90, '90°'], [180, '180°'], [270, '270°']] as const) {
      const r = angle % 180 === 0 ? 1.3 : 1.2;
      points.push({ panel, layer: 'label', x: r * Math.cos(rad(angle)), y: r * Math.sin(rad(angle)), text: label });
    }
    const mine = rows.filter((r) => r.cell_type === cellType && (r.intensity >= 0.5) === (intensity === 1));
    const defined = mine.filter((r) => r.preferred_direction_deg !== null);
    for (const r of defined) {
      const a = rad(r.preferred_direction_deg!);
      const len = Math.min(1, r.dsi);
      points.push({ panel, layer: 'member', edge, model: r.model, x: 0, y: 0, x2: len * Math.cos(a), y2: len * Math.sin(a), pd: r.preferred_direction_deg, dsi: r.dsi });
    }
    let c = 0;
    let s = 0;
    for (const r of defined) {
      c += Math.cos(rad(r.preferred_direction_deg!));
      s += Math.sin(rad(r.preferred_direction_deg!));
    }
    if (defined.length > 0) {
      const a = Math.atan2(s, c);
      const len = Math.hypot(c, s) / defined.length;
      points.push({ panel, layer: 'mean', edge, x: 0, y: 0, x2: len * Math.cos(a), y2: len * Math.sin(a) });
    }
    const known = PREFERRED_DIRECTIONS[cellType]!;
    points.push({ panel, layer: 'known', x: 0, y: 0, x2: 1.12 * Math.cos(rad(known)), y2: 1.12 * Math.sin(rad(known)) });
    points.push({ panel, layer: 'text', x: 0, y: -1.5, text: `known: ${known}°` });
    points.push({ panel, layer: 'text', x: 0, y: -1.75, text: `${defined.length}/${mine.length} with DSI ≥ ${threshold}` });
  });
  const scale = { domain: [-1.5, 1.5], nice: false, zero: false };
  const yScale = { domain: [-1.9, 1.45], nice: false, zero: false };
  const panelWidth = 130;
  const panelHeight = Math.round((panelWidth * 3.35) / 3);
  const xy = { x: { field: 'x', type: 'quantitative', axis: null, scale }, y: { field: 'y', type: 'quantitative', axis: null, scale: yScale } };
  const color = { field: 'edge', type: 'nominal', scale: { domain: ['ON edge', 'OFF edge'], range: [ON_COLOR, OFF_COLOR] }, title: null };
  const only = (layer: string) => [{ filter: `datum.layer === '${layer}'` }];
  return {
    $schema: SCHEMA,
    background: 'white',
    title: {
      text: options.title ?? `Preferred directions of T4 and T5 across ${models.size} networks${options.ensemble ? ` of ${options.ensemble}` : ''}`,
      subtitle: subtitle([
        'thin lines: each network\'s preferred direction, length = its DSI (rings at 0.5 and 1); thick: their circular mean (length = agreement)',
        'dashed black: the direction known from experiments (flyvis groundtruth_utils.preferred_directions); 0° = rightward, 90° = up',
        `networks with a DSI below ${threshold} have no preferred direction and are not drawn (n/N below each panel: drawn / all)`,
      ]),
    },
    data: { values: points },
    facet: { field: 'panel', type: 'nominal', sort: names, title: null, header: { labelFontSize: 10, labelFontWeight: 'bold', labelPadding: 2 } },
    columns: 4,
    spec: {
      width: panelWidth,
      height: panelHeight,
      layer: [
        { transform: only('ring'), mark: { type: 'line', color: '#bbbbbb', strokeWidth: 0.6 }, encoding: { ...xy, detail: { field: 'ring' }, order: { field: 'order' } } },
        { transform: only('label'), mark: { type: 'text', fontSize: 7, color: '#666666', baseline: 'middle', align: 'center' }, encoding: { ...xy, text: { field: 'text' } } },
        { transform: only('member'), mark: { type: 'rule', strokeWidth: 0.8, opacity: 0.45 }, encoding: { ...xy, x2: { field: 'x2' }, y2: { field: 'y2' }, color, tooltip: [{ field: 'model' }, { field: 'pd', title: 'preferred direction (°)', format: '.0f' }, { field: 'dsi', format: '.2f' }] } },
        { transform: only('known'), mark: { type: 'rule', color: '#000000', strokeWidth: 1.2, strokeDash: [3, 2] }, encoding: { ...xy, x2: { field: 'x2' }, y2: { field: 'y2' } } },
        { transform: only('mean'), mark: { type: 'rule', strokeWidth: 3, strokeCap: 'round' }, encoding: { ...xy, x2: { field: 'x2' }, y2: { field: 'y2' }, color } },
        { transform: only('text'), mark: { type: 'text', fontSize: 7.5, align: 'center', baseline: 'middle' }, encoding: { ...xy, text: { field: 'text' } } },
      ],
    },
    config: { view: { stroke: null } },
  } as unknown as TopLevelSpec;
}
