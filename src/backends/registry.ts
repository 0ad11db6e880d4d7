// The backend registry (open, like TensorFlow.js's kernel registries): backends by name, fused
// model implementations per (backend, model kind), and the resolution of the names users pass
// as `kernel` (a backend name, 'auto', or one of the synapse kernel names a backend runs).
import { type Backend, type BackendGraph, BackendError, type BackendInstance, type BackendOptions, type FusedFactory, type FusedSimulator } from './types.ts';

const BACKENDS = new Map<string, Backend>();
const FUSED = new Map<string, Map<string, FusedFactory>>();
/** Order in which 'auto' tries backends: the first available wins. */
let AUTO_ORDER: string[] = [];

/**
 * Registers a backend under its name (replacing one of that name). `priority`: where 'auto'
 * tries it, lower first (the built-ins: wasm 10, js 100); default: after the others.
 */
export function registerBackend(backend: Backend, priority?: number): void {
  BACKENDS.set(backend.name, backend);
  prio.set(backend.name, priority ?? 1000);
  AUTO_ORDER = [...BACKENDS.keys()].sort((a, b) => prio.get(a)! - prio.get(b)!);
  availability.delete(backend.name);
}
const prio = new Map<string, number>();

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
}

/** The registered backends, in the order 'auto' tries them, and whether each works here. */
export function listBackends(): BackendInfo[] {
  return AUTO_ORDER.map((name) => {
    const b = BACKENDS.get(name)!;
    const a = availableOf(b);
    return {
      name,
      available: a.ok,
      ...(a.ok ? {} : { note: a.reason }),
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
 * in priority order), a backend name, or a synapse kernel name some backend answers to (the
 * backend then runs that kernel). Throws a BackendError naming the choices, or why the chosen
 * backend does not work here.
 */
export function resolveBackend(name: string, options: BackendOptions = {}): { backend: Backend; options: BackendOptions } {
  if (name === 'auto') {
    for (const n of AUTO_ORDER) {
      const b = BACKENDS.get(n)!;
      if (availableOf(b).ok) return { backend: b, options };
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
