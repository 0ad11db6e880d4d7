// `--dataset procedural | sintel:PATH` for the command line (Node: 'sintel:PATH' reads files).
import { FLYVIS_TASK_AUGMENT } from './augment.ts';
import { FlowDatasetError } from './errors.ts';
import { ProceduralFlow, type ProceduralFlowOptions } from './procedural.ts';
import { SintelFlow, type SintelFlowOptions } from './sintel-node.ts';
import type { FlowDataset } from './types.ts';

export type FlowDatasetSpecOptions = Omit<ProceduralFlowOptions, 'split'> &
  Omit<SintelFlowOptions, 'split'> & { split?: 'train' | 'validation' };

/**
 * The dataset a spec names: 'procedural' (ProceduralFlow) or 'sintel:PATH' (SintelFlow over the
 * Sintel folder at PATH), both with flyvis's training augmentation settings (task.yaml: p_rot
 * 0.5, flips across axes 1-3) unless the options say otherwise. Options go to the dataset
 * (`split` 'train' or 'validation' for both; Sintel without a split is the whole dataset).
 */
export function flowDatasetFromSpec(spec: string, options: FlowDatasetSpecOptions = {}): FlowDataset {
  if (spec === 'procedural') {
    const { pass: _p, verticalSplits: _v, centerCropFraction: _c, nFrames: _n, allFrames: _a, randomTemporalCrop: _r, originalFramerate: _o, ...o } = options;
    return new ProceduralFlow(o);
  }
  if (spec.startsWith('sintel:') && spec.length > 'sintel:'.length) {
    const { nSequences: _n, frames: _f, scene: _s, cache: _c, ...o } = options;
    // flyvis's training augmentation (task.yaml) unless the options say otherwise
    const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    return new SintelFlow(spec.slice('sintel:'.length), { pRot: FLYVIS_TASK_AUGMENT.pRot, flipAxes: FLYVIS_TASK_AUGMENT.flipAxes, ...defined });
  }
  throw new FlowDatasetError(`dataset: expected 'procedural' or 'sintel:PATH' (an MPI Sintel folder), got '${spec}'`);
}
