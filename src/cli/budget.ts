// The budget flags every command can take: --max-memory GB and --max-steps N, which replace
// the default input budget (half the machine's memory; 1,000,000 Euler steps per call) and the
// environment's FLYVIS_MAX_MEMORY_GB / FLYVIS_MAX_STEPS for this run. Spread BUDGET_OPTIONS into
// a command's options and call applyBudgetOptions(parsed) before the work starts.
import '../budget-env.ts';
import { GB, setBudget, type BudgetOptions } from '../budget.ts';
import { UsageError, type OptionSpecs } from './args.ts';

/** --max-memory GB, --max-steps N. */
export const BUDGET_OPTIONS = {
  'max-memory': {
    type: 'number',
    metavar: 'GB',
    min: 0,
    help: 'memory one request may use, in GB (default: $FLYVIS_MAX_MEMORY_GB, else half the machine\'s memory)',
  },
  'max-steps': {
    type: 'integer',
    metavar: 'N',
    min: 1,
    help: 'Euler steps one simulation call may take (default: $FLYVIS_MAX_STEPS, else 1,000,000)',
  },
} as const satisfies OptionSpecs;

/** Sets the process-wide budget from the parsed flags (flags not given leave the defaults). */
export function applyBudgetOptions(o: { readonly 'max-memory'?: number | undefined; readonly 'max-steps'?: number | undefined }): void {
  const budget: { -readonly [K in keyof BudgetOptions]: BudgetOptions[K] } = {};
  const gb = o['max-memory'];
  if (gb !== undefined) {
    if (!(gb > 0)) throw new UsageError(`--max-memory: expected a positive number of GB, got '${gb}'`);
    budget.maxMemoryBytes = gb * GB;
  }
  if (o['max-steps'] !== undefined) budget.maxSteps = o['max-steps'];
  setBudget(budget);
}
