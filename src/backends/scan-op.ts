// The simulation as one differentiable op: a backend's fused simulator runs every step (forward)
// and the adjoint scan (VJP), so the tape records one node per simulation, whatever the number
// of steps. Inputs: the initial state v0 (B, N), the input x (B, T, N) and the model's named
// inputs (for 'ppneuron': bias, rate, weight); output: every state (B, T, N) or the last (B, N).
import { Tensor, defineOp, isRecording } from '../autograd/index.ts';
import { BackendError, type FusedSimulator, type HostArray, type ScanForward, type ScanRequest } from './types.ts';

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

const scanOp = defineOp<ScanAttrs, ScanSaved>({
  name: 'simulate',
  forward(inputs, { sim, names, batch, steps, record, save, report }) {
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
    return { out: new Tensor(forward.output.read(), [...forward.output.shape]), saved: { ...held, request, forward } };
  },
  vjp(g, { inputs, attrs: { sim, names }, saved, needsGrad }) {
    if (!saved.request.save) throw new BackendError('simulate: the forward pass kept nothing for the backward pass');
    const [v0, x, ...rest] = inputs;
    const needs = { v0: needsGrad[0]!, x: needsGrad[1]!, inputs: Object.fromEntries(names.map((n, i) => [n, needsGrad[i + 2]!])) };
    const r = sim.backward(saved.request, saved.forward, g.data, needs);
    const wrap = (d: HostArray | null, like: Tensor): Tensor | null => (d === null ? null : new Tensor(d, like.shape));
    return [
      needs.v0 ? wrap(r.v0, v0!) : null,
      needs.x ? wrap(r.x, x!) : null,
      ...names.map((n, i) => (needs.inputs[n] ? wrap(r.inputs[n] ?? null, rest[i]!) : null)),
    ];
  },
});

/**
 * Runs `steps` steps of a fused model on `sim` from v0 (B, N) over x (B, T, N): every state
 * (B, T, N) for record 'all', the last (B, N) for 'last'. Differentiable with respect to every
 * input; the backend keeps what the VJP needs only while a tape records.
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
  const [batch, steps] = x.shape as [number, number];
  const names = Object.keys(inputs);
  let finite: boolean | undefined;
  const out = scanOp([v0, x, ...names.map((n) => inputs[n]!)], {
    sim, names, batch, steps, record, save: isRecording(), report: (f) => (finite = f),
  });
  return { out, finite };
}
