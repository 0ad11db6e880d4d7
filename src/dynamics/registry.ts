// Registry of dynamics types, so a flyvis `dynamics` config ({ type: 'PPNeuronIGRSynapses',
// activation: { type: 'relu' } }) selects them by name and users can add their own.
import { PPNeuronIGRSynapses } from './ppneuron.ts';
import type { NetworkDynamics } from './types.ts';

export type DynamicsConfig = { readonly type?: string; readonly [key: string]: unknown };
export type DynamicsFactory = (config: DynamicsConfig) => NetworkDynamics;

const DYNAMICS = new Map<string, DynamicsFactory>([['PPNeuronIGRSynapses', (c) => PPNeuronIGRSynapses(c)]]);

/** Registers a dynamics type under `name` (usable as `dynamics.type` in a network config). */
export function registerDynamics(name: string, factory: DynamicsFactory): void {
  DYNAMICS.set(name, factory);
}

export const registeredDynamics = (): string[] => [...DYNAMICS.keys()];

/** Builds the dynamics a config names (default PPNeuronIGRSynapses with relu). */
export function initDynamics(config: DynamicsConfig = { type: 'PPNeuronIGRSynapses' }): NetworkDynamics {
  const type = config.type ?? 'PPNeuronIGRSynapses';
  const factory = DYNAMICS.get(type);
  if (factory === undefined) {
    throw new Error(`dynamics.type: unknown dynamics '${type}' (registered: ${registeredDynamics().join(', ')})`);
  }
  return factory(config);
}
