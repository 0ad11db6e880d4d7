// SVG plots of the analyses: vega-lite specs rendered headless through vega's View.toSVG().
//   friBarChart: FRI per cell type (bars, one colour per disc radius), as flyvis plot_fris;
//   dsiBarChart: DSI per cell type for ON and OFF edges;
//   polarTuning: a small-multiple grid of polar tuning curves (normalised peak response per
//     direction, averaged over speeds), one panel per cell type, ON and OFF overlaid, as
//     flyvis plot_angular_tuning.
// Rendered with src/plot's renderSVG.
import type { TopLevelSpec } from 'vega-lite';
import type { FriRow } from './fri.ts';
import type { DsiRow, TuningRow } from './dsi.ts';

const ON = '#c1272d';
const OFF = '#0a5da8';

export function friBarChart(rows: readonly FriRow[], cellTypes: readonly string[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Flash response index (FRI > 0: ON, < 0: OFF)',
    width: Math.max(200, cellTypes.length * 14),
    height: 160,
    data: { values: rows.map((r) => ({ cell_type: r.cellType, radius: r.radius === -1 ? 'full field' : `radius ${r.radius}`, fri: r.fri })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'cell_type', type: 'nominal', sort: [...cellTypes], axis: { labelAngle: -90, title: null } },
      xOffset: { field: 'radius', type: 'nominal' },
      y: { field: 'fri', type: 'quantitative', scale: { domain: [-1, 1] }, title: 'FRI' },
      color: { field: 'radius', type: 'nominal', scale: { range: ['#444444', '#aaaaaa'] }, title: 'flash' },
    },
  };
}

export function dsiBarChart(rows: readonly DsiRow[], cellTypes: readonly string[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Direction selectivity index (moving edges)',
    width: Math.max(200, cellTypes.length * 14),
    height: 160,
    data: { values: rows.map((r) => ({ cell_type: r.cellType, edge: r.intensity >= 0.5 ? 'ON edge' : 'OFF edge', dsi: r.dsi })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'cell_type', type: 'nominal', sort: [...cellTypes], axis: { labelAngle: -90, title: null } },
      xOffset: { field: 'edge', type: 'nominal' },
      y: { field: 'dsi', type: 'quantitative', scale: { domain: [0, 1] }, title: 'DSI' },
      color: { field: 'edge', type: 'nominal', scale: { domain: ['ON edge', 'OFF edge'], range: [ON, OFF] }, title: null },
    },
  };
}

export function polarTuning(rows: readonly TuningRow[], cellTypes: readonly string[], columns = 8): TopLevelSpec {
  const points: Record<string, unknown>[] = [];
  const byKey = new Map<string, TuningRow[]>();
  for (const r of rows) {
    const key = `${r.cellType}/${r.intensity}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  for (const list of byKey.values()) {
    const sorted = [...list].sort((a, b) => a.angle - b.angle);
    [...sorted, sorted[0]!].forEach((r, order) => {
      const a = (r.angle * Math.PI) / 180;
      points.push({ cell_type: r.cellType, edge: r.intensity >= 0.5 ? 'ON edge' : 'OFF edge', order, x: r.normalized * Math.cos(a), y: r.normalized * Math.sin(a), angle: r.angle, response: r.response });
    });
  }
  for (const cellType of new Set(rows.map((r) => r.cellType))) {
    for (let i = 0; i <= 48; i++) points.push({ cell_type: cellType, edge: 'circle', order: i, x: Math.cos((i * Math.PI) / 24), y: Math.sin((i * Math.PI) / 24) });
  }
  const axis = { domain: false, ticks: false, labels: false, grid: false, title: null };
  const xy = {
    x: { field: 'x', type: 'quantitative', axis, scale: { domain: [-1.05, 1.05] } },
    y: { field: 'y', type: 'quantitative', axis, scale: { domain: [-1.05, 1.05] } },
    order: { field: 'order' },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Direction tuning (peak response per direction, normalised; 0° = rightward, 90° = up)',
    data: { values: points },
    facet: { field: 'cell_type', type: 'nominal', sort: [...cellTypes], title: null, header: { labelFontSize: 9, labelPadding: 2 } },
    columns,
    spec: {
      width: 70,
      height: 70,
      layer: [
        { transform: [{ filter: "datum.edge === 'circle'" }], mark: { type: 'line', color: '#cccccc', strokeWidth: 0.5 }, encoding: xy },
        {
          transform: [{ filter: "datum.edge !== 'circle'" }],
          mark: { type: 'line', strokeWidth: 1.2 },
          encoding: { ...xy, color: { field: 'edge', type: 'nominal', scale: { domain: ['ON edge', 'OFF edge'], range: [ON, OFF] }, title: null } },
        },
      ],
    },
    config: { view: { stroke: null } },
  } as TopLevelSpec;
}
