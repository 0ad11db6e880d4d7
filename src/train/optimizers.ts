// Optimizers as pure functions: `init(params)` gives a state, `update(params, grads, state)`
// gives new parameters and a new state without touching its inputs. States are
// plain data (float32 arrays per parameter) and serialise to JSON exactly (optimizerStateToJSON /
// optimizerStateFromJSON), so a resumed run continues bit for bit.
import { Tensor } from '../autograd/index.ts';
import { type Schedule, constant } from './schedules.ts';

/** Parameters (or gradients) by name. */
export type Params = Readonly<Record<string, Tensor>>;

/** An optimizer's state: its step count and per-parameter buffers by slot ('m', 'v', 'momentum'). */
export interface OptimizerState {
  readonly step: number;
  readonly slots: Readonly<Record<string, Readonly<Record<string, Float32Array>>>>;
}

export interface Optimizer {
  /** 'adam' or 'sgd'. */
  readonly name: string;
  /** Hyper-parameters, as data (recorded in training checkpoints). */
  readonly hyper: Readonly<Record<string, number | boolean>>;
  /** The learning rate at an iteration. */
  readonly schedule: Schedule;
  init(params: Params): OptimizerState;
  /** New parameters and state after one step with `grads`; the learning rate is `schedule(state.step)`. */
  update(params: Params, grads: Params, state: OptimizerState): { params: Record<string, Tensor>; state: OptimizerState };
}

export class OptimizerError extends Error {
  override name = 'OptimizerError';
}

function check(name: string, value: number, ok: boolean, expected: string): void {
  if (!ok) throw new OptimizerError(`${name}: expected ${expected}, got ${value}`);
}

function checkAligned(params: Params, grads: Params, state: OptimizerState): void {
  for (const [k, p] of Object.entries(params)) {
    const g = grads[k];
    if (g === undefined) throw new OptimizerError(`grads.${k}: missing (expected ${p.size} values)`);
    if (g.size !== p.size) throw new OptimizerError(`grads.${k}: expected ${p.size} values, got ${g.size}`);
    for (const [slot, buffers] of Object.entries(state.slots)) {
      const b = buffers[k];
      if (b === undefined || b.length !== p.size) {
        throw new OptimizerError(`state.slots.${slot}.${k}: expected ${p.size} values, got ${b === undefined ? 'none' : b.length}`);
      }
    }
  }
}

const zerosLike = (params: Params): Record<string, Float32Array> =>
  Object.fromEntries(Object.entries(params).map(([k, p]) => [k, new Float32Array(p.size)]));

const lrAt = (schedule: Schedule, iteration: number): number => {
  const lr = schedule(iteration);
  if (!(lr >= 0) || !Number.isFinite(lr)) throw new OptimizerError(`learning rate at iteration ${iteration}: expected a finite number >= 0, got ${lr}`);
  return lr;
};

export interface AdamOptions {
  /** Learning rate or schedule (default 1e-3, torch's default). */
  readonly lr?: number | Schedule;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** L2 penalty added to the gradient (torch's Adam weight_decay). */
  readonly weightDecay?: number;
}

/**
 * Adam (Kingma & Ba), as torch.optim.Adam computes it:
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Arithmetic in float64, parameters and moments stored as float32.
 */
export function adam(options: AdamOptions = {}): Optimizer {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 } = options;
  const schedule = typeof options.lr === 'function' ? options.lr : constant(options.lr ?? 1e-3);
  check('beta1', beta1, beta1 >= 0 && beta1 < 1, 'a number in [0, 1)');
  check('beta2', beta2, beta2 >= 0 && beta2 < 1, 'a number in [0, 1)');
  check('eps', eps, eps > 0 && Number.isFinite(eps), 'a positive number');
  check('weightDecay', weightDecay, weightDecay >= 0 && Number.isFinite(weightDecay), 'a number >= 0');
  return {
    name: 'adam',
    hyper: { beta1, beta2, eps, weightDecay },
    schedule,
    init: (params) => ({ step: 0, slots: { m: zerosLike(params), v: zerosLike(params) } }),
    update(params, grads, state) {
      checkAligned(params, grads, state);
      const lr = lrAt(schedule, state.step);
      const t = state.step + 1;
      const bc1 = 1 - beta1 ** t;
      const bc2sqrt = Math.sqrt(1 - beta2 ** t);
      const out: Record<string, Tensor> = {};
      const m: Record<string, Float32Array> = {};
      const v: Record<string, Float32Array> = {};
      for (const [k, p] of Object.entries(params)) {
        const g = grads[k]!.data;
        const m0 = state.slots.m![k]!;
        const v0 = state.slots.v![k]!;
        const m1 = new Float32Array(p.size);
        const v1 = new Float32Array(p.size);
        const q = new Float32Array(p.size);
        for (let i = 0; i < p.size; i++) {
          const gi = g[i]! + weightDecay * p.data[i]!;
          m1[i] = beta1 * m0[i]! + (1 - beta1) * gi;
          v1[i] = beta2 * v0[i]! + (1 - beta2) * gi * gi;
          q[i] = p.data[i]! - ((lr / bc1) * m1[i]!) / (Math.sqrt(v1[i]!) / bc2sqrt + eps);
        }
        out[k] = new Tensor(q, p.shape);
        m[k] = m1;
        v[k] = v1;
      }
      return { params: out, state: { step: t, slots: { m, v } } };
    },
  };
}

export interface SgdOptions {
  /** Learning rate or schedule (required, as in torch). */
  readonly lr: number | Schedule;
  readonly momentum?: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
}

/**
 * Stochastic gradient descent with optional momentum, as torch.optim.SGD (dampening 0):
 *   b = momentum b + g (b = g at the first step);  p -= lr (nesterov ? g + momentum b : b)
 */
export function sgd(options: SgdOptions): Optimizer {
  const { momentum = 0, nesterov = false, weightDecay = 0 } = options;
  const schedule = typeof options.lr === 'function' ? options.lr : constant(options.lr);
  check('momentum', momentum, momentum >= 0 && momentum < 1, 'a number in [0, 1)');
  check('weightDecay', weightDecay, weightDecay >= 0 && Number.isFinite(weightDecay), 'a number >= 0');
  if (nesterov && momentum === 0) throw new OptimizerError('nesterov: expected momentum > 0 with nesterov, got momentum 0');
  return {
    name: 'sgd',
    hyper: { momentum, nesterov, weightDecay },
    schedule,
    init: (params): OptimizerState => ({ step: 0, slots: momentum > 0 ? { momentum: zerosLike(params) } : {} }),
    update(params, grads, state) {
      checkAligned(params, grads, state);
      const lr = lrAt(schedule, state.step);
      const out: Record<string, Tensor> = {};
      const bufs: Record<string, Float32Array> = {};
      for (const [k, p] of Object.entries(params)) {
        const g = grads[k]!.data;
        const q = new Float32Array(p.size);
        const b1 = momentum > 0 ? new Float32Array(p.size) : undefined;
        const b0 = state.slots.momentum?.[k];
        for (let i = 0; i < p.size; i++) {
          const gi = g[i]! + weightDecay * p.data[i]!;
          let d = gi;
          if (b1 !== undefined) {
            b1[i] = state.step === 0 ? gi : momentum * b0![i]! + gi;
            d = nesterov ? gi + momentum * b1[i]! : b1[i]!;
          }
          q[i] = p.data[i]! - lr * d;
        }
        out[k] = new Tensor(q, p.shape);
        if (b1 !== undefined) bufs[k] = b1;
      }
      const slots: OptimizerState['slots'] = momentum > 0 ? { momentum: bufs } : {};
      return { params: out, state: { step: state.step + 1, slots } };
    },
  };
}

/** The state as JSON-ready data: float32 values survive JSON exactly. */
export function optimizerStateToJSON(state: OptimizerState): { step: number; slots: Record<string, Record<string, number[]>> } {
  return {
    step: state.step,
    slots: Object.fromEntries(
      Object.entries(state.slots).map(([s, bufs]) => [s, Object.fromEntries(Object.entries(bufs).map(([k, b]) => [k, Array.from(b)]))]),
    ),
  };
}

/**
 * A state from JSON data, checked against what `optimizer.init(params)` would make: the same
 * slots and parameters with the same sizes, finite values, a non-negative integer step. Throws
 * an OptimizerError naming every problem's field (`where` prefixes the field names).
 */
export function optimizerStateFromJSON(json: unknown, optimizer: Optimizer, params: Params, where = 'optimizer'): OptimizerState {
  const template = optimizer.init(params);
  const problems: string[] = [];
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!obj(json)) throw new OptimizerError(`${where}: expected an object with step and slots, got ${JSON.stringify(json)?.slice(0, 40)}`);
  const step = json.step;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) problems.push(`${where}.step: expected an integer >= 0, got ${JSON.stringify(step)}`);
  const slots: Record<string, Record<string, Float32Array>> = {};
  const given = json.slots;
  if (!obj(given)) problems.push(`${where}.slots: expected an object, got ${JSON.stringify(given)?.slice(0, 40)}`);
  else {
    for (const extra of Object.keys(given).filter((s) => !(s in template.slots))) {
      problems.push(`${where}.slots.${extra}: unknown slot for ${optimizer.name} (expected ${Object.keys(template.slots).join(', ') || 'none'})`);
    }
    for (const [s, bufs] of Object.entries(template.slots)) {
      const g = given[s];
      if (!obj(g)) {
        problems.push(`${where}.slots.${s}: missing`);
        continue;
      }
      slots[s] = {};
      for (const extra of Object.keys(g).filter((k) => !(k in bufs))) problems.push(`${where}.slots.${s}.${extra}: unknown parameter`);
      for (const [k, b] of Object.entries(bufs)) {
        const list = g[k];
        if (!Array.isArray(list) || list.length !== b.length || !list.every((x) => typeof x === 'number' && Number.isFinite(x))) {
          problems.push(`${where}.slots.${s}.${k}: expected ${b.length} finite numbers`);
          continue;
        }
        slots[s]![k] = Float32Array.from(list as number[]);
      }
    }
  }
  if (problems.length > 0) throw new OptimizerError(problems.join('; '));
  return { step: step as number, slots };
}
