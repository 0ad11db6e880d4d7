// Plots as Vega-Lite specifications rendered to SVG in Node.
export { PlotError, renderSVG, svgToPNG, writePlot, writeSVG, type TopLevelSpec } from './render.ts';
export {
  type ActivityArray, type TracesOptions, type HexFrameOptions, centralCell, centralTracesSpec, hexFrameSpec, lossCurveSpec,
} from './specs.ts';
