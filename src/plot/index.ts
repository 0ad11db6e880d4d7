// Plots as Vega-Lite specifications rendered to SVG in Node.
export { PlotError, renderSVG, svgToPNG, writePlot, writeSVG, type TopLevelSpec } from './render.ts';
export {
  type ActivityArray, type TracesOptions, type HexFrameOptions, type TimeMarker, OKABE_ITO, ON_COLOR, OFF_COLOR,
  centralCell, centralTracesSpec, hexFrameSpec, hexToPixel, lossCurveSpec,
} from './specs.ts';
