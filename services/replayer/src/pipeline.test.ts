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

  describe('reverse shadow: events a candidate served are replayed against the baseline', () => {
    const baselineClient: CandidateClient = {
      name: 'baseline-aa',
      close: async () => {},
      call: () => answer('ok'),
      invoke: async () => answer('ok'),
    };
    const v2 = { ...target('cand', { call: () => answer('fraud'), invoke: async () => answer('fraud') }), model: { name: 'fraud', version: 'v2' } };
    const reverseMaker = (client: CandidateClient | undefined) =>
      createPairMaker({ experiment: 'exp', baseline: { model: 'fraud' }, output, targets: [v2], baselineClient: client, now: () => 42 });
    const served = (version: string, label: string) => ({
      ...makeEvent({ x: 1 }),
      model: { name: 'fraud', version },
      arm: 'green' as const,
      output: JSON.stringify({ label, score: 0.5 }),
      latencyMs: 7,
    });

    it('pairs the live candidate answer with the replayed baseline, oriented baseline vs candidate', () => {
      const outcomes: CandidateOutcome[] = [];
      const m = reverseMaker(baselineClient);
      const event = served('v2', 'fraud');
      expect(m.replays(event)).toBe(true);
      const [pair, ...rest] = m.replay(event, (o) => outcomes.push(o)) as Exclude<ReturnType<typeof m.replay>, Promise<unknown>>;
      expect(rest).toEqual([]);
      expect(pair).toMatchObject({
        candidate: 'cand',
        role: 'candidate',
        served: 'candidate',
        arm: 'green',
        baselineModel: 'fraud',
        baselineOutput: JSON.stringify({ label: 'ok', score: 0.5 }),
        baselineLatencyMs: 1,
        baselineStatus: 'ok',
        candidateOutput: event.output,
        candidateLatencyMs: 7,
        candidateStatus: 'ok',
        baselineLabel: 'ok',
        candidateLabel: 'fraud',
        agree: false,
      });
      // The call that was made is the baseline's.
      expect(outcomes.map((o) => o.candidate)).toEqual(['baseline-aa']);
    });

    it('records a failed baseline replay in baselineError, and a live candidate failure in candidateError', async () => {
      const failing: CandidateClient = { ...baselineClient, call: undefined, invoke: () => Promise.reject(new UmbraError('CANDIDATE_TIMEOUT', 'late')) };
      const event = { ...served('v2', 'fraud'), status: 'error' as const, output: null, errorMessage: 'HTTP 503' };
      const [pair] = await reverseMaker(failing).replay(event);
      expect(pair).toMatchObject({
        served: 'candidate',
        baselineStatus: 'error',
        baselineError: 'CANDIDATE_TIMEOUT: late',
        candidateStatus: 'error',
        candidateError: 'HTTP 503',
        agree: false,
      });
    });

    it('the baseline-served events stay the usual shadow; a candidate-served event is never taken for the baseline', () => {
      const m = reverseMaker(baselineClient);
      const [pair] = m.replay(served('v1', 'ok')) as Exclude<ReturnType<typeof m.replay>, Promise<unknown>>;
      expect(pair).toMatchObject({ served: 'baseline', baselineLatencyMs: 7, candidateLabel: 'fraud', baselineError: null });
      // Without a baseline to replay, the candidate's events are skipped, not replayed against itself.
      const plain = reverseMaker(undefined);
      expect(plain.replays(served('v2', 'fraud'))).toBe(false);
      expect(plain.replay(served('v2', 'fraud'))).toEqual([]);
      expect(plain.replays(served('v1', 'ok'))).toBe(true);
    });
  });
});
