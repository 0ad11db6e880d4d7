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
export {
  friBarChart, dsiBarChart, polarTuning, friDistribution, dsiDistribution, preferredDirectionsPolar,
  type AnalysisPlotOptions, type DsiPlotOptions, type PolarTuningOptions, type EnsemblePlotOptions,
} from './plots.ts';
export { progressBar, silentProgress, type Progress } from './progress.ts';
export {
  POLARITY, KNOWN_POLARITY, PREFERRED_DIRECTIONS, ON_MOTION_TUNING, OFF_MOTION_TUNING, polarityOf, knownDirectionIntensity, sortOnOffUnknown,
  angularDistance, type Polarity,
} from './groundtruth.ts';
export {
  FLYVIS_FRI_RADIUS, DIRECTION_TOLERANCE_DEG, FRI_SUMMARY_COLUMNS, DSI_SUMMARY_COLUMNS, quantileSorted, summarize, friSummary, dsiSummary,
  knownPolarityCount, describeKnownPolarity, knownDirectionCount, describeKnownDirections, knownDirectionOf, circularMean, medianTuning,
  runEnsemblePool, EnsembleMemberError, EnsemblePoolStopped,
  type EnsembleFriRow, type EnsembleDsiRow, type EnsembleTuningRow, type SampleSummary, type FriSummaryRow, type DsiSummaryRow,
  type PolarityMismatch, type KnownPolarityCount, type DirectionCheck, type KnownDirectionCount, type EnsembleJob, type MemberTask,
  type MemberResult, type EnsemblePoolOptions, type EnsemblePool,
} from './ensemble.ts';
