// Errors of stimulus rendering and datasets: bad parameters or input arrays. The message names
// the field and what was expected (the CLI reports it on one line, exit code 2).
export class StimulusParamError extends Error {
  override name = 'StimulusParamError';
}

export const fail = (field: string, expected: string, got: unknown): never => {
  throw new StimulusParamError(`${field}: expected ${expected}, got ${typeof got === 'string' ? `'${got}'` : JSON.stringify(got) ?? String(got)}`);
};

export function checkFinite(field: string, x: number): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) fail(field, 'a finite number', x);
  return x;
}

export function checkPositive(field: string, x: number): number {
  if (typeof x !== 'number' || !(x > 0) || !Number.isFinite(x)) fail(field, 'a positive finite number', x);
  return x;
}

export function checkInteger(field: string, x: number, min = 0): number {
  if (!Number.isSafeInteger(x) || x < min) fail(field, `an integer >= ${min}`, x);
  return x;
}

export function checkNonEmpty<T>(field: string, xs: readonly T[]): readonly T[] {
  if (!Array.isArray(xs) || xs.length === 0) fail(field, 'a non-empty list', xs);
  return xs;
}
