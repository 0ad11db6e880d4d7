// Errors of the analyses: input that cannot give a meaningful result (missing stimulus
// parameters, an incomplete grid, responses that are not finite). The command line reports
// them on one line with exit code 2.
import type { ItemParams } from '../stimuli/datasets.ts';

export class AnalysisError extends Error {
  override name = 'AnalysisError';
}

/** A stimulus item's parameters as text: "angle 30, intensity 1, speed 2.4". */
export function describeItem(p: ItemParams): string {
  return Object.entries(p).map(([k, v]) => `${k} ${+v.toPrecision(6)}`).join(', ');
}
