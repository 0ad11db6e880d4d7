// Per-cell-type analyses of network responses: FRI, DSI and preferred direction, receptive
// fields; labelled tables (CSV / JSON) and SVG plots. Result records use flyvis-like
// snake_case fields, named exactly as the columns of the CSV files.
export {
  computeResponses, computeResponsesAsync, planBatches, selectNeurons, trace, workOf, assertFiniteResponses, ResponsesInterrupted,
  type Responses, type Neuron, type CellSelection, type ResponseOptions,
} from './responses.ts';
export { AnalysisError, describeItem } from './errors.ts';
export { flashResponseIndex, frameWindow, type FriRow, type FriOptions } from './fri.ts';
export { DSI_THRESHOLD, directionSelectivityIndex, peakResponses, timeWindow, type DsiRow, type DsiOptions, type TuningRow, type PeakOptions } from './dsi.ts';
export { temporalReceptiveFields, spatialReceptiveFields, type TemporalRf, type SpatialRf } from './receptive-fields.ts';
export { tableOf, toCsv, toJson, parseCsv, type ResultTable, type Cell } from './table.ts';
export { friBarChart, dsiBarChart, polarTuning, type AnalysisPlotOptions, type DsiPlotOptions, type PolarTuningOptions } from './plots.ts';
export { progressBar, silentProgress, type Progress } from './progress.ts';
