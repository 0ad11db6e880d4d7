// Per-cell-type analyses of network responses: FRI, DSI and preferred direction, receptive
// fields; labelled tables (CSV / JSON) and SVG plots.
export { computeResponses, selectNeurons, trace, workOf, type Responses, type Neuron, type CellSelection, type ResponseOptions } from './responses.ts';
export { flashResponseIndex, frameWindow, AnalysisError, type FriRow, type FriOptions } from './fri.ts';
export { directionSelectivityIndex, peakResponses, timeWindow, type DsiRow, type TuningRow, type PeakOptions } from './dsi.ts';
export { temporalReceptiveFields, spatialReceptiveFields, type TemporalRf, type SpatialRf } from './receptive-fields.ts';
export { tableOf, toCsv, toJson, parseCsv, type ResultTable, type Cell } from './table.ts';
export { friBarChart, dsiBarChart, polarTuning } from './plots.ts';
export { progressBar, silentProgress, type Progress } from './progress.ts';
