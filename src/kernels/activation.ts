// Scalar activation functions and their derivatives, as torch defines them (flyvis passes the
// dynamics config's `activation` straight to torch.nn: relu, elu(alpha), softplus(beta,
// threshold), leakyrelu(negative_slope), sigmoid, tanh). Used by the synapse kernels, which
// apply the activation to presynaptic activity inside the hot loop.

export type ActivationName = 'relu' | 'elu' | 'softplus' | 'leakyrelu' | 'sigmoid' | 'tanh';

/** flyvis's activation config: `{ type: 'relu' }`, `{ type: 'elu', alpha: 1 }`, ... */
export interface ActivationConfig {
  readonly type: string;
  readonly [kwarg: string]: unknown;
}

export interface Activation {
  readonly type: ActivationName;
  /** Keyword arguments after defaults, e.g. { alpha: 1 } for elu. */
  readonly kwargs: Readonly<Record<string, number>>;
  readonly f: (x: number) => number;
  /** Derivative at x (torch's convention at kinks: relu'(0) = 0, leakyrelu'(0) = slope). */
  readonly df: (x: number) => number;
}

const DEFAULTS: Record<ActivationName, Record<string, number>> = {
  relu: {},
  elu: { alpha: 1 },
  softplus: { beta: 1, threshold: 20 },
  leakyrelu: { negative_slope: 0.01 },
  sigmoid: {},
  tanh: {},
};

export const ACTIVATION_NAMES = Object.keys(DEFAULTS) as ActivationName[];

/** Builds an activation from flyvis's config, with errors that name the offending field. */
export function makeActivation(config: ActivationConfig | string = { type: 'relu' }, where = 'activation'): Activation {
  const cfg: ActivationConfig = typeof config === 'string' ? { type: config } : config;
  const type = String(cfg.type).toLowerCase() as ActivationName;
  if (!(type in DEFAULTS)) {
    throw new Error(`${where}.type: unknown activation '${String(cfg.type)}' (expected one of: ${ACTIVATION_NAMES.join(', ')})`);
  }
  const kwargs: Record<string, number> = { ...DEFAULTS[type] };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'type' || k === 'inplace') continue;
    if (!(k in kwargs)) {
      const known = Object.keys(DEFAULTS[type]);
      throw new Error(`${where}.${k}: unknown argument for ${type} (expected ${known.length ? known.join(', ') : 'none'})`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${where}.${k}: expected a finite number, got ${JSON.stringify(v)}`);
    }
    kwargs[k] = v;
  }
  return { type, kwargs, ...scalarFns(type, kwargs) };
}

function scalarFns(type: ActivationName, k: Record<string, number>): Pick<Activation, 'f' | 'df'> {
  switch (type) {
    case 'relu':
      return { f: (x) => (x > 0 ? x : 0), df: (x) => (x > 0 ? 1 : 0) };
    case 'elu': {
      const a = k.alpha!;
      return { f: (x) => (x > 0 ? x : a * Math.expm1(x)), df: (x) => (x > 0 ? 1 : a * Math.exp(x)) };
    }
    case 'softplus': {
      const b = k.beta!;
      const th = k.threshold!;
      return {
        f: (x) => (b * x > th ? x : Math.log1p(Math.exp(b * x)) / b),
        df: (x) => (b * x > th ? 1 : 1 / (1 + Math.exp(-b * x))),
      };
    }
    case 'leakyrelu': {
      const s = k.negative_slope!;
      return { f: (x) => (x > 0 ? x : s * x), df: (x) => (x > 0 ? 1 : s) };
    }
    case 'sigmoid':
      return {
        f: (x) => 1 / (1 + Math.exp(-x)),
        df: (x) => {
          const y = 1 / (1 + Math.exp(-x));
          return y * (1 - y);
        },
      };
    case 'tanh':
      return {
        f: Math.tanh,
        df: (x) => {
          const y = Math.tanh(x);
          return 1 - y * y;
        },
      };
  }
}

/** out[i] = f(x[i]) (relu specialised: it is the default and runs every step). */
export function applyActivation(act: Activation, x: Float32Array, out: Float32Array): void {
  const n = x.length;
  if (act.type === 'relu') {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      out[i] = v > 0 ? v : 0;
    }
    return;
  }
  const f = act.f;
  for (let i = 0; i < n; i++) out[i] = f(x[i]!);
}

/** out[i] = f'(x[i]). */
export function applyActivationGrad(act: Activation, x: Float32Array, out: Float32Array): void {
  const n = x.length;
  if (act.type === 'relu') {
    for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? 1 : 0;
    return;
  }
  const df = act.df;
  for (let i = 0; i < n; i++) out[i] = df(x[i]!);
}
