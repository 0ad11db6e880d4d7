// The simulation as one differentiable op: a backend's fused simulator runs every step (forward)
// and the adjoint scan (VJP), so the tape records one node per simulation, whatever the number
// of steps. Inputs: the initial state v0 (B, N), the input x (B, T, N) and the model's named
// inputs (for 'ppneuron': bias, rate, weight); output: every state (B, T, N) or the last (B, N).
//
// Two forms of the one primitive: simulateScan reads the result back synchronously (host-memory
// backends: js, wasm, gpujs); simulateScanAsync awaits it (`output.readAsync()`) and records a
// node whose VJP awaits the simulator's backwardAsync where it has one, so it runs on every
// backend, WebGPU included (differentiate it with valueAndGradAsync).
import { Tensor, defineAsyncOp, defineOp, isRecording, type VjpContext } from '../autograd/index.ts';
import { BackendError, type FusedSimulator, type HostArray, type ScanForward, type ScanGradients, type ScanRequest } from './types.ts';

interface ScanAttrs {
  readonly sim: FusedSimulator;
  readonly names: readonly string[];
  readonly batch: number;
  readonly steps: number;
  readonly record: 'all' | 'last';
  readonly save: boolean;
  readonly report?: (finite: boolean | undefined) => void;
}

interface ScanSaved {
  readonly request: ScanRequest;
  readonly forward: ScanForward;
  /** What the backend kept, spread out so that graphStats counts its host arrays. */
  readonly [held: string]: unknown;
}

/** Runs the simulator's forward for the op's inputs; what the op saves for its VJP. */
function runForward(inputs: readonly Tensor[], { sim, names, batch, steps, record, save, report }: ScanAttrs): ScanSaved {
  const [v0, x, ...rest] = inputs;
  const request: ScanRequest = {
    batch,
    steps,
    dtype: v0!.dtype,
    v0: v0!.data,
    x: x!.data,
    inputs: Object.fromEntries(names.map((n, i) => [n, rest[i]!.data])),
    record,
    save,
  };
  const forward = sim.forward(request);
  report?.(forward.finite);
  const held = forward.saved !== null && typeof forward.saved === 'object' ? (forward.saved as Record<string, unknown>) : {};
  return { ...held, request, forward };
}

/** The VJP of either form: the simulator's adjoint scan (asynchronous where `async` and it has one). */
function scanVjp(async: boolean) {
  return (g: Tensor, { inputs, attrs: { sim, names }, saved, needsGrad }: VjpContext<ScanAttrs, ScanSaved>) => {
    if (!saved.request.save) throw new BackendError('simulate: the forward pass kept nothing for the backward pass');
    const [v0, x, ...rest] = inputs;
    const needs = { v0: needsGrad[0]!, x: needsGrad[1]!, inputs: Object.fromEntries(names.map((n, i) => [n, needsGrad[i + 2]!])) };
    const wrap = (d: HostArray | null, like: Tensor): Tensor | null => (d === null ? null : new Tensor(d, like.shape));
    const gradients = (r: ScanGradients): (Tensor | null)[] => [
      needs.v0 ? wrap(r.v0, v0!) : null,
      needs.x ? wrap(r.x, x!) : null,
      ...names.map((n, i) => (needs.inputs[n] ? wrap(r.inputs[n] ?? null, rest[i]!) : null)),
    ];
    if (async && sim.backwardAsync) return sim.backwardAsync(saved.request, saved.forward, g.data, needs).then(gradients);
    return gradients(sim.backward(saved.request, saved.forward, g.data, needs));
  };
}

const scanOp = defineOp<ScanAttrs, ScanSaved>({
  name: 'simulate',
  forward(inputs, attrs) {
    const saved = runForward(inputs, attrs);
    const { output } = saved.forward;
    return { out: new Tensor(output.read(), [...output.shape]), saved };
  },
  vjp: scanVjp(false),
});

const scanOpAsync = defineAsyncOp<ScanAttrs, ScanSaved>({
  name: 'simulate',
  async forward(inputs, attrs) {
    const saved = runForward(inputs, attrs);
    const { output } = saved.forward;
    return { out: new Tensor(await output.readAsync(), [...output.shape]), saved };
  },
  vjp: scanVjp(true),
});

/**
 * Runs `steps` steps of a fused model on `sim` from v0 (B, N) over x (B, T, N): every state
 * (B, T, N) for record 'all', the last (B, N) for 'last'. Differentiable with respect to every
 * input; the backend keeps what the VJP needs only while a tape records. Synchronous: for a
 * simulator that reads back asynchronously (webgpu) use simulateScanAsync.
 */
export function simulateScan(
  sim: FusedSimulator,
  v0: Tensor,
  x: Tensor,
  inputs: Readonly<Record<string, Tensor>>,
  record: 'all' | 'last',
): Tensor {
  return simulateScanChecked(sim, v0, x, inputs, record).out;
}

/** What the scan ops take, from the arguments of the public functions. */
function attrsOf(sim: FusedSimulator, x: Tensor, inputs: Readonly<Record<string, Tensor>>, record: 'all' | 'last', report: ScanAttrs['report']) {
  const [batch, steps] = x.shape as [number, number];
  const names = Object.keys(inputs);
  return { names, attrs: { sim, names, batch, steps, record, save: isRecording(), report } satisfies ScanAttrs };
}

/**
 * simulateScan, also saying whether the backend found every state finite while it ran
 * (undefined: it did not check).
 */
export function simulateScanChecked(
  sim: FusedSimulator,
  v0: Tensor,
  x: Tensor,
  inputs: Readonly<Record<string, Tensor>>,
  record: 'all' | 'last',
): { out: Tensor; finite: boolean | undefined } {
  if (sim.readBack === 'async') {
    throw new BackendError(`simulateScan: this backend's '${sim.model}' simulator reads results back asynchronously: use await simulateScanAsync(...)`);
  }
  let finite: boolean | undefined;
  const { names, attrs } = attrsOf(sim, x, inputs, record, (f) => (finite = f));
  const out = scanOp([v0, x, ...names.map((n) => inputs[n]!)], attrs);
  return { out, finite };
}

/**
 * simulateScan with the result read back asynchronously: runs on every simulator, including one
 * that reads back only asynchronously (webgpu). Records one node when a tape records at the
 * call (inside valueAndGradAsync's f); its VJP awaits the simulator's backwardAsync where it
 * has one (else runs backward), so the reverse pass needs valueAndGradAsync for such a simulator.
 */
export async function simulateScanAsync(
  sim: FusedSimulator,
  v0: Tensor,
  x: Tensor,
  inputs: Readonly<Record<string, Tensor>>,
  record: 'all' | 'last',
): Promise<Tensor> {
  return (await simulateScanCheckedAsync(sim, v0, x, inputs, record)).out;
}

/** simulateScanAsync, also saying whether the backend found every state finite (undefined: it did not check). */
export function simulateScanCheckedAsync(
  sim: FusedSimulator,
  v0: Tensor,
  x: Tensor,
  inputs: Readonly<Record<string, Tensor>>,
  record: 'all' | 'last',
): Promise<{ out: Tensor; finite: boolean | undefined }> {
  let finite: boolean | undefined;
  // The op is called before any await, so it records on the tape on top at this call.
  const { names, attrs } = attrsOf(sim, x, inputs, record, (f) => (finite = f));
  return scanOpAsync([v0, x, ...names.map((n) => inputs[n]!)], attrs).then((out) => ({ out, finite }));
}
