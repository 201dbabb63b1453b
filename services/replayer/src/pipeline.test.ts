import { describe, expect, it } from 'vitest';
import { UmbraError } from '@umbra/core';
import { parseOutputSpec } from '@umbra/core/domain';
import { makeEvent } from './candidates/fixtures/servers.ts';
import type { CandidateClient, CandidateResult } from './candidates/index.ts';
import { createPairMaker, type CandidateOutcome, type ReplayTarget } from './pipeline.ts';

const output = parseOutputSpec({ task: 'classification', label: '$.label', score: '$.score' });

function target(name: string, client: Omit<CandidateClient, 'name' | 'close'>): ReplayTarget {
  return { client: { name, close: async () => {}, ...client }, role: 'candidate', sampleRate: 1 };
}

const answer = (label: string): CandidateResult => ({ output: JSON.stringify({ label, score: 0.5 }), latencyMs: 1 });
const maker = (targets: ReplayTarget[]) =>
  createPairMaker({ experiment: 'exp', baseline: { model: 'fraud' }, output, targets, now: () => 42 });

describe('createPairMaker', () => {
  it('gives the pairs at once when every candidate answers synchronously', () => {
    const outcomes: CandidateOutcome[] = [];
    const pairs = maker([
      target('sync-a', { call: () => answer('ok'), invoke: async () => answer('ok') }),
      target('sync-b', { call: () => answer('fraud'), invoke: async () => answer('fraud') }),
    ]).replay(makeEvent({ x: 1 }), (o) => outcomes.push(o));

    expect(Array.isArray(pairs)).toBe(true);
    const list = pairs as Exclude<typeof pairs, Promise<unknown>>;
    expect(list.map((p) => [p.candidate, p.agree, p.candidateStatus, p.replayedAt])).toEqual([
      ['sync-a', true, 'ok', 42],
      ['sync-b', false, 'ok', 42],
    ]);
    expect(list[1]!.diffPaths).toEqual(['$.label', '$.score']);
    // Shared between pairs, so frozen.
    expect(Object.isFrozen(list[0]!.diffPaths)).toBe(true);
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok']);
  });

  it('mixes synchronous and asynchronous candidates, keeping candidate order', async () => {
    const pairs = await maker([
      target('async', { invoke: async () => answer('ok') }),
      target('sync', { call: () => answer('ok'), invoke: async () => answer('ok') }),
    ]).replay(makeEvent({ x: 1 }));

    expect(pairs.map((p) => p.candidate)).toEqual(['async', 'sync']);
  });

  it('records thrown, rejected and timed-out calls as pairs with their error', async () => {
    const outcomes: CandidateOutcome[] = [];
    const pairs = await maker([
      target('throws', {
        call: () => {
          throw new UmbraError('CANDIDATE_FAILED', 'boom');
        },
        invoke: () => Promise.reject(new UmbraError('CANDIDATE_FAILED', 'boom')),
      }),
      target('rejects', { invoke: () => Promise.reject(new Error('plain')) }),
      target('times-out', { invoke: () => Promise.reject(new UmbraError('CANDIDATE_TIMEOUT', 'late')) }),
    ]).replay(makeEvent({ x: 1 }), (o) => outcomes.push(o));

    expect(pairs.map((p) => [p.candidateStatus, p.candidateError, p.candidateOutput, p.agree])).toEqual([
      ['error', 'CANDIDATE_FAILED: boom', null, false],
      ['error', 'CANDIDATE_FAILED: Error: plain', null, false],
      ['timeout', 'CANDIDATE_TIMEOUT: late', null, false],
    ]);
    expect(outcomes.map((o) => o.errorCode)).toEqual(['CANDIDATE_FAILED', 'CANDIDATE_FAILED', 'CANDIDATE_TIMEOUT']);
  });
});
