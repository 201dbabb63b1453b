/**
 * The routing table: mode, weight and active side, and the choice of an arm per request.
 * No I/O; the HTTP proxy and the decision follower both act through it.
 */
import { UmbraError, type Arm } from '@umbra/core';
import { bucketOf } from './split.ts';

export type RouterMode = 'canary' | 'blue-green';
/** Blue is the stable backend, green the candidate's. */
export type Side = 'blue' | 'green';
/** Which backend serves: stable (blue) or canary (green). */
export type Backend = 'stable' | 'canary';

export interface RoutingState {
  mode: RouterMode;
  /**
   * Candidate share of traffic, 0..100; in blue-green mode 0 (blue), 100 (green), or a preview
   * share of green while blue stays active.
   */
  weight: number;
  /** Blue-green mode only. */
  active: Side | null;
}

export interface Choice {
  backend: Backend;
  /** The arm recorded on the event: stable/canary, or blue/green in blue-green mode. */
  arm: Arm;
}

export interface RoutingTable {
  state(): RoutingState;
  setWeight(weight: number): void;
  switchTo(side: Side): void;
  /** Blue-green: green takes `weight` % (0 < weight < 100, sticky like a canary), blue stays active. */
  preview(weight: number): void;
  /** `key` pins the request to an arm; without one, `random` in [0, 1) decides. */
  choose(key: string | undefined, random: number): Choice;
}

export function checkWeight(weight: unknown): number {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `weight must be a number in 0..100, got ${JSON.stringify(weight)}`,
    );
  }
  return weight;
}

export function createRoutingTable(mode: RouterMode, weight = 0): RoutingTable {
  if (mode !== 'canary' && mode !== 'blue-green') {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `mode must be canary or blue-green, got ${JSON.stringify(mode)}`,
    );
  }
  checkWeight(weight);
  let current = mode === 'blue-green' ? (weight >= 100 ? 100 : 0) : weight;
  if (mode === 'blue-green' && weight !== 0 && weight !== 100) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `blue-green starts at weight 0 (blue) or 100 (green), got ${weight}`,
    );
  }
  return {
    state: () => ({
      mode,
      weight: current,
      active: mode === 'blue-green' ? (current === 100 ? 'green' : 'blue') : null,
    }),
    setWeight(w) {
      if (mode !== 'canary') {
        throw new UmbraError('BAD_ARGUMENT', 'blue-green mode switches sides; it takes no weight');
      }
      current = checkWeight(w);
    },
    switchTo(side) {
      if (mode !== 'blue-green')
        throw new UmbraError(
          'BAD_ARGUMENT',
          'canary mode takes a weight; it has no sides to switch',
        );
      if (side !== 'blue' && side !== 'green') {
        throw new UmbraError(
          'BAD_ARGUMENT',
          `switch must be blue or green, got ${JSON.stringify(side)}`,
        );
      }
      current = side === 'green' ? 100 : 0;
    },
    preview(w) {
      if (mode !== 'blue-green')
        throw new UmbraError('BAD_ARGUMENT', 'canary mode takes a weight; preview is blue-green');
      if (checkWeight(w) === 0 || w === 100)
        throw new UmbraError(
          'BAD_ARGUMENT',
          `a preview share is between 0 and 100 (exclusive), got ${w}; switch sides instead`,
        );
      current = w;
    },
    choose(key, random) {
      const onCandidate = current >= 100 || (current > 0 && (key === undefined ? random * 100 : bucketOf(key)) < current);
      if (mode === 'blue-green')
        return onCandidate ? { backend: 'canary', arm: 'green' } : { backend: 'stable', arm: 'blue' };
      return onCandidate ? { backend: 'canary', arm: 'canary' } : { backend: 'stable', arm: 'stable' };
    },
  };
}
