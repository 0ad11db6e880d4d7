// The backend registry (open, like TensorFlow.js's kernel registries): backends by name, fused
// model implementations per (backend, model kind), and the resolution of the names users pass
// as `kernel` (a backend name, 'auto', or one of the synapse kernel names a backend runs).
import { type Backend, type BackendGraph, BackendError, type BackendInstance, type BackendOptions, type FusedFactory, type FusedSimulator } from './types.ts';

const BACKENDS = new Map<string, Backend>();
const FUSED = new Map<string, Map<string, FusedFactory>>();
/** Order in which 'auto' tries backends: the first available wins. */
let AUTO_ORDER: string[] = [];

/** A check 'auto' makes before it takes an available backend (e.g. that a GPU is faster here), probed once. */
export type AutoGate = () => { ok: true; note: string } | { ok: false; reason: string };

/**
 * Registers a backend under its name (replacing one of that name). `priority`: where 'auto'
 * tries it, lower first (the built-ins: gpujs 5 behind its gate, wasm 10, js 100, webgpu 200);
 * default: after the others. `auto`: a gate 'auto' consults (once) before taking the backend.
 */
export function registerBackend(backend: Backend, priority?: number, options: { auto?: AutoGate } = {}): void {
  BACKENDS.set(backend.name, backend);
  prio.set(backend.name, priority ?? 1000);
  AUTO_ORDER = [...BACKENDS.keys()].sort((a, b) => prio.get(a)! - prio.get(b)!);
  availability.delete(backend.name);
  gateResults.delete(backend.name);
  if (options.auto) gates.set(backend.name, options.auto);
  else gates.delete(backend.name);
}
const prio = new Map<string, number>();
const gates = new Map<string, AutoGate>();
const gateResults = new Map<string, ReturnType<AutoGate>>();
const gateOf = (name: string): ReturnType<AutoGate> | undefined => {
  const gate = gates.get(name);
  if (gate === undefined) return undefined;
  let r = gateResults.get(name);
  if (r === undefined) {
    try {
      r = gate();
    } catch (e) {
      r = { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
    gateResults.set(name, r);
  }
  return r;
};

/** Registers `backend`'s implementation of the fused model `model` (e.g. 'ppneuron'). */
export function registerFusedModel(backend: string, model: string, factory: FusedFactory): void {
  let byModel = FUSED.get(backend);
  if (byModel === undefined) FUSED.set(backend, (byModel = new Map()));
  byModel.set(model, factory);
}

/** The fused simulators of an instance, built on first request (a helper for backends). */
export function fusedLookup(instance: BackendInstance, graph: BackendGraph): (model: string) => FusedSimulator | undefined {
  const built = new Map<string, FusedSimulator | undefined>();
  return (model) => {
    if (!built.has(model)) {
      const factory = FUSED.get(instance.backend)?.get(model);
      built.set(model, factory?.(instance, graph));
    }
    return built.get(model);
  };
}

const availability = new Map<string, { ok: true } | { ok: false; reason: string }>();
const availableOf = (b: Backend): { ok: true } | { ok: false; reason: string } => {
  let a = availability.get(b.name);
  if (a === undefined) {
    try {
      a = b.available();
    } catch (e) {
      a = { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
    availability.set(b.name, a);
  }
  return a;
};

export interface BackendInfo {
  readonly name: string;
  readonly available: boolean;
  /** Why not. */
  readonly note?: string;
  /** Fused models it implements. */
  readonly models: readonly string[];
  /** Synapse kernel names it answers to. */
  readonly kernels: readonly string[];
  /** For a backend behind an auto gate that 'auto' has consulted: why it took it or passed it over. */
  readonly auto?: string;
}

/** The registered backends, in the order 'auto' tries them, and whether each works here. */
export function listBackends(): BackendInfo[] {
  return AUTO_ORDER.map((name) => {
    const b = BACKENDS.get(name)!;
    const a = availableOf(b);
    const g = gateResults.get(name);
    return {
      name,
      available: a.ok,
      ...(a.ok ? {} : { note: a.reason }),
      ...(g ? { auto: g.ok ? g.note : g.reason } : {}),
      models: [...(FUSED.get(name)?.keys() ?? [])],
      kernels: b.kernels,
    };
  });
}

export const backendNames = (): string[] => [...AUTO_ORDER];

/** Every name `kernel` accepts: 'auto', the backends, and the kernel names they answer to. */
export function acceptedNames(): string[] {
  const names = ['auto', ...AUTO_ORDER];
  for (const n of AUTO_ORDER) for (const k of BACKENDS.get(n)!.kernels) if (!names.includes(k)) names.push(k);
  return names;
}

/**
 * The backend a name selects and the options it runs with: 'auto' (the first available backend
 * in priority order whose auto gate, if any, passes), a backend name, or a synapse kernel name some backend answers to (the
 * backend then runs that kernel). Throws a BackendError naming the choices, or why the chosen
 * backend does not work here.
 */
export function resolveBackend(name: string, options: BackendOptions = {}): { backend: Backend; options: BackendOptions } {
  if (name === 'auto') {
    for (const n of AUTO_ORDER) {
      const b = BACKENDS.get(n)!;
      if (availableOf(b).ok && gateOf(n)?.ok !== false) return { backend: b, options };
    }
    throw new BackendError(`no backend works here (${listBackends().map((b) => `${b.name}: ${b.note}`).join('; ')})`);
  }
  let backend = BACKENDS.get(name);
  let opts = options;
  if (backend === undefined) {
    backend = AUTO_ORDER.map((n) => BACKENDS.get(n)!).find((b) => b.kernels.includes(name));
    opts = { ...options, kernel: name };
  }
  if (backend === undefined) throw new BackendError(`unknown kernel '${name}' (available: ${acceptedNames().join(', ')})`);
  const a = availableOf(backend);
  if (!a.ok) throw new BackendError(`backend '${backend.name}' is not available here: ${a.reason}`);
  return { backend, options: opts };
}

/** A backend instance for a graph: resolveBackend(name, options), then create. */
export function createBackend(name: string, graph: BackendGraph, options: BackendOptions = {}): BackendInstance {
  const r = resolveBackend(name, options);
  return r.backend.create(graph, r.options);
}
