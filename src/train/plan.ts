// Computations over a network's simulations written once for both read-back modes. A *plan* is a
// generator that yields each network call it needs (a simulation, a steady state, a dataset's
// responses, the value and gradient of a loss that is itself a plan) and resumes with its result.
// runPlan answers with the network's synchronous methods and valueAndGrad (backends that read
// back synchronously: js, wasm, gpujs); runPlanAsync awaits the asynchronous methods and
// valueAndGradAsync (every backend, webgpu included). Everything between the calls is the same
// code, so on a backend that reads back synchronously both give the same values, bit for bit,
// gradients included (Network's asynchronous methods do: docs/kernels.md). The training steps
// (fit, the flow task), the validation and the analyses' responses are plans; the commands run
// them asynchronously, the library keeps synchronous conveniences on the same plans.
// Platform-neutral.
import { type Tensor, type TensorTree, type ValueAndGrad, valueAndGrad, valueAndGradAsync } from '../autograd/index.ts';
import type { LayerActivity } from '../network/layer-activity.ts';
import type {
  MovieDataset, Network, SimulationOptions, State, SteadyStateOptions, StimulusResponse, StimulusResponseOptions,
} from '../network/network.ts';
import type { ArrayND } from '../network/stimulus.ts';

/** A call a plan asks its driver to make. */
export type PlanCall =
  | { readonly op: 'simulate'; readonly net: Network; readonly movie: ArrayND; readonly dt: number; readonly options: SimulationOptions }
  | { readonly op: 'steadyState'; readonly net: Network; readonly tPre: number; readonly dt: number; readonly batchSize: number; readonly options: SteadyStateOptions }
  | { readonly op: 'stimulusResponse'; readonly net: Network; readonly dataset: MovieDataset; readonly dt: number; readonly options: StimulusResponseOptions }
  | { readonly op: 'valueAndGrad'; readonly fn: (params: never) => Plan<Tensor>; readonly params: unknown }
  /**
   * A point where an asynchronous driver returns to the event loop (so signals and timers run);
   * both drivers then call `check` (which may throw, e.g. to stop on an interrupt).
   */
  | { readonly op: 'pause'; readonly check?: () => void };

/** A computation that yields network calls and returns T. */
export type Plan<T> = Generator<PlanCall, T, unknown>;

/** network.simulate(movie, dt, options) inside a plan. */
export function* planSimulate(net: Network, movie: ArrayND, dt: number, options: SimulationOptions = {}): Plan<Tensor | State[] | LayerActivity> {
  return (yield { op: 'simulate', net, movie, dt, options }) as Tensor | State[] | LayerActivity;
}

/** network.steadyState(tPre, dt, batchSize, options) inside a plan. */
export function* planSteadyState(net: Network, tPre: number, dt: number, batchSize: number, options: SteadyStateOptions = {}): Plan<State | null> {
  return (yield { op: 'steadyState', net, tPre, dt, batchSize, options }) as State | null;
}

/** Every batch network.stimulusResponse(dataset, dt, options) yields, inside a plan. */
export function* planResponses(net: Network, dataset: MovieDataset, dt: number, options: StimulusResponseOptions = {}): Plan<StimulusResponse[]> {
  return (yield { op: 'stimulusResponse', net, dataset, dt, options }) as StimulusResponse[];
}

/** valueAndGrad of a loss written as a plan (valueAndGradAsync when driven asynchronously). */
export function* planValueAndGrad<P extends TensorTree<P>>(fn: (params: P) => Plan<Tensor>, params: P): Plan<ValueAndGrad<P>> {
  return (yield { op: 'valueAndGrad', fn: fn as (params: never) => Plan<Tensor>, params }) as ValueAndGrad<P>;
}

/** A point where an asynchronous driver returns to the event loop, then `check` runs (see PlanCall). */
export function* planPause(check?: () => void): Plan<void> {
  yield check === undefined ? { op: 'pause' } : { op: 'pause', check };
}

/** Runs a plan on the networks' synchronous methods (refused, naming the asynchronous method, on webgpu). */
export function runPlan<T>(plan: Plan<T>): T {
  return drive(plan, (call) => {
    switch (call.op) {
      case 'simulate':
        return call.net.simulate(call.movie, call.dt, call.options);
      case 'steadyState':
        return call.net.steadyState(call.tPre, call.dt, call.batchSize, call.options);
      case 'stimulusResponse':
        return [...call.net.stimulusResponse(call.dataset, call.dt, call.options)];
      case 'valueAndGrad':
        return valueAndGrad((p: never) => runPlan(call.fn(p)))(call.params as never);
      case 'pause':
        return call.check?.();
    }
  });
}

/** Runs a plan on the networks' asynchronous methods: every backend; the same values as runPlan where both run. */
export async function runPlanAsync<T>(plan: Plan<T>): Promise<T> {
  for (let a: Answer = START; ;) {
    const r = resume(plan, a);
    if (r.done) return r.value;
    a = await answerAsync(r.value).then(answered, failed);
  }
}

async function answerAsync(call: PlanCall): Promise<unknown> {
  switch (call.op) {
    case 'simulate':
      return call.net.simulateAsync(call.movie, call.dt, call.options);
    case 'steadyState':
      return call.net.steadyStateAsync(call.tPre, call.dt, call.batchSize, call.options);
    case 'stimulusResponse': {
      const out: StimulusResponse[] = [];
      for await (const r of call.net.stimulusResponseAsync(call.dataset, call.dt, call.options)) out.push(r);
      return out;
    }
    case 'valueAndGrad':
      return valueAndGradAsync((p: never) => runPlanAsync(call.fn(p)))(call.params as never);
    case 'pause':
      await yieldToEventLoop();
      return call.check?.();
  }
}

/** What a call gave: its value, or the error it threw (thrown into the plan, so its finally blocks run). */
type Answer = { readonly error: false; readonly value: unknown } | { readonly error: true; readonly reason: unknown };
const START: Answer = { error: false, value: undefined };
const answered = (value: unknown): Answer => ({ error: false, value });
const failed = (reason: unknown): Answer => ({ error: true, reason });
const resume = <T>(plan: Plan<T>, a: Answer): IteratorResult<PlanCall, T> => (a.error ? plan.throw(a.reason) : plan.next(a.value));

function drive<T>(plan: Plan<T>, answer: (call: PlanCall) => unknown): T {
  for (let a: Answer = START; ;) {
    const r = resume(plan, a);
    if (r.done) return r.value;
    try {
      a = answered(answer(r.value));
    } catch (e) {
      a = failed(e);
    }
  }
}

/** Returns to the event loop: setImmediate in Node; a zero timeout where there is none (browsers, Web Workers). */
export const yieldToEventLoop = (): Promise<void> =>
  new Promise<void>((resolve) => {
    const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
    if (immediate) immediate(resolve);
    else setTimeout(resolve, 0);
  });
