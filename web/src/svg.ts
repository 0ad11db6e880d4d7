// The explorer's views as SVG (vector graphics for papers and slides): every cell type's map as
// one group of hexagons (one per cell, flat-topped, in the same pixel geometry as the canvas maps,
// filled with the colour the canvas shows for it), the traces as polylines with their axes, and
// the colour scale. Built as text, free of the DOM (the page serialises what it draws).
import { hexCentre, latticeScale } from './hexmap.ts';

export interface SvgMap {
  readonly type: string;
  /** Per cell: u, v and its fill ('#rrggbb'). */
  readonly cells: readonly { readonly u: number; readonly v: number; readonly fill: string }[];
  /** The range shown under the map (e.g. '±0.12'). */
  readonly range: string;
}

export interface SvgTrace {
  readonly label: string;
  readonly colour: string;
  /** Values over time (one per frame). */
  readonly values: ArrayLike<number>;
}

export interface SvgView {
  readonly title: string;
  readonly maps: readonly SvgMap[];
  /** Size in pixels of one map (the canvas maps' size) and the lattice's extent. */
  readonly mapSize: number;
  readonly extent: number;
  readonly columns: number;
  readonly traces: readonly SvgTrace[];
  /** Frames of the stimulus (the traces' time axis spans them) and the time step. */
  readonly frames: number;
  readonly dt: number;
  /** The colour scale's stops (256 '#rrggbb') and its labels. */
  readonly scale: readonly string[];
  readonly scaleLabels: readonly [string, string, string];
  readonly caption: string;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (x: number): string => (Math.round(x * 100) / 100).toString();

/** A flat-topped hexagon of radius r (pixels) around (x, y), as polygon points. */
function hexagon(x: number, y: number, r: number): string {
  const pts: string[] = [];
  for (let k = 0; k < 6; k++) pts.push(`${num(x + r * Math.cos((Math.PI / 3) * k))},${num(y + r * Math.sin((Math.PI / 3) * k))}`);
  return pts.join(' ');
}

/** The whole view as an SVG document. */
export function viewSvg(view: SvgView): string {
  const cell = view.mapSize + 6;
  const label = 26;
  const rows = Math.ceil(view.maps.length / view.columns);
  const width = Math.max(view.columns * cell, 660) + 20;
  const top = 30;
  const mapsHeight = rows * (cell + label);
  const traceTop = top + mapsHeight + 20;
  const traceH = 180;
  const traceW = 640;
  const height = traceTop + traceH + 70;
  const r = 1 / latticeScale(view.mapSize, view.extent); // a hexagon's radius in pixels
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`);
  out.push(`<title>${esc(view.title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="10" y="18" font-size="13">${esc(view.title)}</text>`);
  view.maps.forEach((m, i) => {
    const x0 = 10 + (i % view.columns) * cell;
    const y0 = top + Math.floor(i / view.columns) * (cell + label);
    out.push(`<g class="map" data-type="${esc(m.type)}" transform="translate(${x0 + 3},${y0 + 3})">`);
    for (const c of m.cells) {
      const [x, y] = hexCentre(c.u, c.v, view.mapSize, view.extent);
      out.push(`<polygon data-u="${c.u}" data-v="${c.v}" points="${hexagon(x, y, r)}" fill="${c.fill}"/>`);
    }
    out.push(`<text x="${view.mapSize / 2}" y="${view.mapSize + 12}" font-size="10" text-anchor="middle">${esc(m.type)}</text>`);
    out.push(`<text x="${view.mapSize / 2}" y="${view.mapSize + 22}" font-size="8" fill="#666666" text-anchor="middle">${esc(m.range)}</text>`);
    out.push('</g>');
  });
  // traces
  const L = 50;
  const X = (t: number): number => L + (t / Math.max(1, view.frames - 1)) * (traceW - L - 6);
  let lo = 0;
  let hi = 0;
  for (const tr of view.traces) for (let t = 0; t < tr.values.length; t++) if (Number.isFinite(tr.values[t]!)) {
    lo = Math.min(lo, tr.values[t]!);
    hi = Math.max(hi, tr.values[t]!);
  }
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const Y = (x: number): number => traceH - 16 - ((x - lo) / (hi - lo)) * (traceH - 24);
  out.push(`<g class="traces" transform="translate(10,${traceTop})">`);
  out.push(`<path d="M${L},4 L${L},${traceH - 16} L${traceW - 6},${traceH - 16}" fill="none" stroke="#999999"/>`);
  out.push(`<path d="M${L},${num(Y(0))} L${traceW - 6},${num(Y(0))}" fill="none" stroke="#cccccc" stroke-dasharray="3 3"/>`);
  out.push(`<text x="2" y="12" font-size="10">${hi.toPrecision(2)}</text><text x="2" y="${traceH - 18}" font-size="10">${lo.toPrecision(2)}</text>`);
  out.push(`<text x="${L}" y="${traceH - 4}" font-size="10">0 s</text><text x="${traceW - 40}" y="${traceH - 4}" font-size="10">${((view.frames - 1) * view.dt).toFixed(2)} s</text>`);
  out.push(`<text x="${L + 60}" y="${traceH - 4}" font-size="10">activity minus the grey steady state</text>`);
  view.traces.forEach((tr, i) => {
    const pts: string[] = [];
    for (let t = 0; t < tr.values.length; t++) pts.push(`${num(X(t))},${num(Y(tr.values[t]!))}`);
    out.push(`<polyline class="trace" data-label="${esc(tr.label)}" points="${pts.join(' ')}" fill="none" stroke="${tr.colour}" stroke-width="1.5"/>`);
    out.push(`<text x="${traceW + 4}" y="${14 + 13 * i}" font-size="10" fill="${tr.colour}">${esc(tr.label)}</text>`);
  });
  out.push('</g>');
  // the colour scale
  const sy = traceTop + traceH + 14;
  out.push(`<defs><linearGradient id="scale">${view.scale.filter((_, k) => k % 16 === 0 || k === 255).map((c, k, all) => `<stop offset="${num((100 * k) / (all.length - 1))}%" stop-color="${c}"/>`).join('')}</linearGradient></defs>`);
  out.push(`<rect x="10" y="${sy}" width="200" height="12" fill="url(#scale)"/>`);
  out.push(`<text x="10" y="${sy + 24}" font-size="10">${esc(view.scaleLabels[0])}</text><text x="110" y="${sy + 24}" font-size="10" text-anchor="middle">${esc(view.scaleLabels[1])}</text><text x="210" y="${sy + 24}" font-size="10" text-anchor="end">${esc(view.scaleLabels[2])}</text>`);
  out.push(`<text x="220" y="${sy + 10}" font-size="10">${esc(view.caption)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}
