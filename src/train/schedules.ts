// Learning-rate schedules: pure functions from the iteration index (0-based) to a learning rate,
// so a resumed run recomputes exactly the rate an uninterrupted one would have used.

import { linspace } from '../task/train-schedule.ts';

/** A learning rate per iteration (0-based). */
export type Schedule = (iteration: number) => number;

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new ScheduleError(`${name}: expected a positive finite number, got ${value}`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ScheduleError(`${name}: expected a positive integer, got ${value}`);
  return value;
}

function factor(name: string, value: number): number {
  if (!(value > 0 && value <= 1)) throw new ScheduleError(`${name}: expected a number in (0, 1], got ${value}`);
  return value;
}

/** The same rate at every iteration. */
export function constant(lr: number): Schedule {
  positive('lr', lr);
  return () => lr;
}

/** lr * gamma^floor(iteration / every) (torch's StepLR; every = 1 is ExponentialLR). */
export function stepDecay(lr: number, every: number, gamma: number): Schedule {
  positive('lr', lr);
  positiveInteger('every', every);
  factor('gamma', gamma);
  return (i) => lr * gamma ** Math.floor(i / every);
}

/** lr * gamma^iteration. */
export function exponentialDecay(lr: number, gamma: number): Schedule {
  return stepDecay(lr, 1, gamma);
}

/** Cosine annealing from lr to minLr over `total` iterations, then minLr (torch's CosineAnnealingLR, one half period). */
export function cosineDecay(lr: number, total: number, minLr = 0): Schedule {
  positive('lr', lr);
  positiveInteger('total', total);
  if (!(minLr >= 0 && minLr <= lr)) throw new ScheduleError(`minLr: expected a number in [0, lr=${lr}], got ${minLr}`);
  return (i) => (i >= total ? minLr : minLr + 0.5 * (lr - minLr) * (1 + Math.cos((Math.PI * i) / total)));
}

/**
 * flyvis's 'stepwise' scheduler (HyperParamScheduler.stepwise): `stages` rates spaced linearly
 * from `start` to `stop` (np.linspace), each held for floor(total / stages) iterations
 * (np.repeat), then `stop` (flyvis pads the array with it).
 */
export function stepwise(start: number, stop: number, stages: number, total: number): Schedule {
  positive('start', start);
  positive('stop', stop);
  positiveInteger('stages', stages);
  positiveInteger('total', total);
  const rates = linspace(start, stop, stages);
  const per = Math.floor(total / stages);
  return (i) => (per === 0 ? stop : rates[Math.min(stages - 1, Math.floor(i / per))]!);
}

/** Linear warm-up from 0 over `steps` iterations, then `after`. */
export function warmup(steps: number, after: Schedule): Schedule {
  positiveInteger('steps', steps);
  return (i) => (i < steps ? (after(i) * (i + 1)) / steps : after(i));
}

/**
 * A schedule from its command-line form, for base rate `lr` and a run of `total` iterations:
 *   constant | exp:GAMMA | step:EVERY:GAMMA | cosine[:MIN_LR] | stepwise:STOP:STAGES
 */
export function parseSchedule(text: string, lr: number, total: number): Schedule {
  const [kind, ...args] = text.split(':');
  const nums = args.map(Number);
  const expect = (n: number, form: string): void => {
    if (args.length !== n || nums.some((x) => !Number.isFinite(x))) {
      throw new ScheduleError(`schedule: expected ${form}, got '${text}'`);
    }
  };
  switch (kind) {
    case 'constant':
      expect(0, "'constant'");
      return constant(lr);
    case 'exp':
      expect(1, "'exp:GAMMA'");
      return exponentialDecay(lr, nums[0]!);
    case 'step':
      expect(2, "'step:EVERY:GAMMA'");
      return stepDecay(lr, nums[0]!, nums[1]!);
    case 'cosine':
      if (args.length === 0) return cosineDecay(lr, total);
      expect(1, "'cosine' or 'cosine:MIN_LR'");
      return cosineDecay(lr, total, nums[0]!);
    case 'stepwise':
      expect(2, "'stepwise:STOP:STAGES'");
      return stepwise(lr, nums[0]!, nums[1]!, total);
    default:
      throw new ScheduleError(
        `schedule: expected constant, exp:GAMMA, step:EVERY:GAMMA, cosine[:MIN_LR] or stepwise:STOP:STAGES, got '${text}'`,
      );
  }
}
