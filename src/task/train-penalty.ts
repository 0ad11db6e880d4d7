// flyvis's activity penalty (flyvis/solver.py, Penalty.activity_penalty_step): pushes each cell
// type's temporal mean activity towards a baseline, more strongly from below than from above:
//
//   activity_mean = activity[:, n_frames // 4:, central_cells_index].mean(dim=1)   (samples, types)
//   penalty = activity_penalty * (asymmetric_weighting(baseline - activity_mean, below, above) ** 2).mean()
//   asymmetric_weighting(x, gamma, delta) = gamma * relu(x) - delta * relu(-x)
//
// Its gradient updates only the parameters whose config says `penalize: {activity: true}`
// (flyvis's default: nodes_bias), with their own SGD optimiser (learning rate lr_pen), after the
// task's Adam step; the network is clamped after it. The penalty stops at `stop_iter`.
import { indexSelect, mean, mul, neg, relu, slice, square, sub, type Tensor } from '../autograd/index.ts';

/** flyvis's penalizer.activity_penalty config (penalizer.yaml). */
export interface ActivityPenaltyConfig {
  readonly activity_baseline: number;
  readonly activity_penalty: number;
  /** Iteration from which the penalty is off (null: never). */
  readonly stop_iter: number | null;
  readonly below_baseline_penalty_weight: number;
  readonly above_baseline_penalty_weight: number;
}

/** flyvis's tensor_utils.asymmetric_weighting: gamma * relu(x) - delta * relu(-x). */
export function asymmetricWeighting(x: Tensor, gamma = 1.0, delta = 0.1): Tensor {
  return sub(mul(relu(x), gamma), mul(relu(neg(x)), delta));
}

/**
 * The activity penalty of activity (samples, frames, n_nodes), over the central cell of each type
 * (`centralCellsIndex`, flyvis's connectome.central_cells_index) after the first quarter of the
 * frames. Differentiable in the activity.
 */
export function activityPenalty(activity: Tensor, centralCellsIndex: Int32Array, config: ActivityPenaltyConfig): Tensor {
  const [, T] = activity.shape as [number, number, number];
  const central = indexSelect(slice(activity, 1, Math.floor(T / 4), T), centralCellsIndex, 2); // (samples, T - T // 4, types)
  const activityMean = mean(central, 1); // (samples, types)
  const w = asymmetricWeighting(sub(config.activity_baseline, activityMean), config.below_baseline_penalty_weight, config.above_baseline_penalty_weight);
  return mul(mean(square(w)), config.activity_penalty);
}

/** The state_dict names of the parameters a network config penalises by activity (node_config / edge_config `penalize.activity`). */
export function activityPenalizedParams(networkConfig: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const [section, prefix] of [['node_config', 'nodes_'], ['edge_config', 'edges_']] as const) {
    const cfg = networkConfig[section];
    if (typeof cfg !== 'object' || cfg === null) continue;
    for (const [name, p] of Object.entries(cfg as Record<string, unknown>)) {
      const pen = (p as { penalize?: unknown } | null)?.penalize;
      if (typeof pen === 'object' && pen !== null && (pen as { activity?: unknown }).activity) out.push(`${prefix}${name}`);
    }
  }
  return out;
}
