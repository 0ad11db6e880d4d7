// Rendering Vega-Lite specifications to SVG in Node, through vega's headless View (no browser,
// no canvas: SVG output needs neither). vega and vega-lite are loaded on first use, not at import:
// vega's module graph has a top-level await (vega-canvas), which would keep a CommonJS consumer
// from loading the package and would slow every import of it.
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../io/atomic.ts';

export type { TopLevelSpec };

export class PlotError extends Error {
  override name = 'PlotError';
}

let plotting: Promise<[typeof import('vega'), typeof import('vega-lite')]> | undefined;

/** The SVG text of a Vega-Lite specification. */
export async function renderSVG(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await (plotting ??= Promise.all([import('vega'), import('vega-lite')]));
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders a specification and writes it atomically as SVG; returns the SVG text. */
export async function writeSVG(file: string, spec: TopLevelSpec): Promise<string> {
  const svg = await renderSVG(spec);
  writeFileAtomic(file, svg);
  return svg;
}

/**
 * PNG bytes of an SVG, rasterised by resvg (@resvg/resvg-js: a prebuilt binary shipped in an
 * npm package, no browser). Text uses the system's fonts (sans-serif). `scale` multiplies the
 * SVG's size (default 2, for sharp figures).
 */
export async function svgToPNG(svg: string, scale = 2): Promise<Uint8Array> {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new PlotError(`scale: expected a positive number, got ${scale}`);
  let Resvg: typeof import('@resvg/resvg-js').Resvg;
  try {
    ({ Resvg } = await import('@resvg/resvg-js'));
  } catch (e) {
    throw new PlotError(`PNG output needs @resvg/resvg-js, which failed to load (${(e as Error).message.split('\n')[0]}); write .svg instead`);
  }
  const width = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1] ?? NaN);
  const fitTo = Number.isFinite(width) ? ({ mode: 'width', value: Math.round(width * scale) } as const) : ({ mode: 'zoom', value: scale } as const);
  const r = new Resvg(svg, { fitTo, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' }, background: 'white' });
  return r.render().asPng();
}

/** Renders a specification to `file`: PNG when the name ends in .png, SVG otherwise. Atomic. */
export async function writePlot(file: string, spec: TopLevelSpec): Promise<void> {
  const svg = await renderSVG(spec);
  writeFileAtomic(file, file.toLowerCase().endsWith('.png') ? await svgToPNG(svg) : svg);
}
