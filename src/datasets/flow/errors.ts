// Errors of the flow datasets: bad options, and bad input on disk (a scene without frames, a
// .flo file with a bad magic number or size, mismatched frame and flow files). The message names
// the file or option and what was expected; the CLI reports it on one line with exit code 2.
export class FlowDatasetError extends Error {
  override name = 'FlowDatasetError';
}

/** Throws a FlowDatasetError `what: expected ..., got ...`. */
export const flowFail = (what: string, expected: string, got: unknown): never => {
  throw new FlowDatasetError(`${what}: expected ${expected}, got ${typeof got === 'string' ? `'${got}'` : (JSON.stringify(got) ?? String(got))}`);
};

export function checkInt(what: string, x: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max)
    flowFail(what, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`, x);
  return x as number;
}

export function checkNumber(what: string, x: unknown, min: number, max = Infinity, minOpen = false): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || (minOpen ? x <= min : x < min) || x > max)
    flowFail(what, `a finite number ${minOpen ? '>' : '>='} ${min}${max === Infinity ? '' : ` and <= ${max}`}`, x);
  return x as number;
}
