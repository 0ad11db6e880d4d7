// The explorer's analyses of the current model, run in its worker with the library's functions
// (src/analysis: computeResponsesAsync, flashResponseIndex, directionSelectivityIndex) on the
// library's datasets, as `flyvis analyze flashes|edges` runs them, with a smaller default set so
// that they finish in seconds at extent 15 in a page: the flash response index (FRI) for
// full-field and radius-6 flashes (flyvis's Flashes: 1 s grey, 1 s flash), and the moving-edge
// direction selectivity (DSI, preferred direction, tuning) over 12 directions, ON and OFF edges,
// at one speed (19 columns/s) by default; at dt 1/50 by default (flyvis uses 1/200 for its
// figures: finer steps are a setting). Per-cell-type values are the central cell's, as flyvis's
// `cell_index='central'`.
import { Flashes, MovingEdge, computeResponsesAsync, directionSelectivityIndex, flashResponseIndex, workOf, type Network, type StimulusDataset } from '../../src/core.ts';
import { EXTENT, type AnalysisResult, type AnalysisSettings, type DsiResult, type FriResult } from './spec.ts';

export { ALL_SPEEDS, ALL_ANGLES, DEFAULT_FRI, DEFAULT_DSI, type FriSettings, type DsiSettings, type AnalysisSettings } from './spec.ts';

export type { FriResult, DsiResult, AnalysisResult };

/** The library's dataset for the settings (the same one `flyvis analyze` builds, narrowed). */
export function analysisDataset(s: AnalysisSettings): StimulusDataset {
  return s.kind === 'fri'
    ? new Flashes({ extent: EXTENT, dt: s.dt, radius: [...s.radii], tPre: s.tPre, tStim: s.tStim })
    : new MovingEdge({ extent: EXTENT, dt: s.dt, speeds: [...s.speeds], angles: [...s.angles] });
}

/** Sample-frames the analysis simulates (for its progress). */
export function analysisWork(s: AnalysisSettings): number {
  return workOf(analysisDataset(s), s.dt);
}

/**
 * Runs an analysis on `net`: the central cells' responses (batches of 4 from one grey steady
 * state, returning to the event loop between batches, where `interrupted` stops it with the
 * library's ResponsesInterrupted), then the index. `progress(done, total)` in sample-frames.
 */
export async function runAnalysis(
  net: Network,
  s: AnalysisSettings,
  options: { readonly progress?: (done: number, total: number) => void; readonly interrupted?: () => boolean } = {},
): Promise<AnalysisResult> {
  const dataset = analysisDataset(s);
  const total = workOf(dataset, s.dt);
  let done = 0;
  const responses = await computeResponsesAsync(net, dataset, {
    dt: s.dt,
    batchSize: 4,
    ...(options.interrupted ? { interrupted: options.interrupted } : {}),
    progress: {
      tick(n) {
        done += n;
        options.progress?.(done, total);
      },
      done() {},
    },
  });
  if (s.kind === 'fri') return { kind: 'fri', settings: s, rows: flashResponseIndex(responses) };
  const { dsi, tuning } = directionSelectivityIndex(responses);
  return { kind: 'dsi', settings: s, dsi, tuning };
}
