/**
 * Keeps a router on the promoter's decisions: consumes umbra.decisions and applies every
 * decision of one rollout. Each router instance reads the topic from the beginning in its own
 * group, so a restarted router converges on the latest decision instead of waiting for the next.
 */
import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '@umbra/core';
import { decodePromotionDecision, type PromotionDecisionMessage } from '@umbra/core/avro';
import type { KafkaBus } from '@umbra/core/kafka';
import type { Router } from './router.ts';

export interface FollowOptions {
  bus: KafkaBus;
  topic?: string;
  rollout: string;
  router: Pick<Router, 'applyDecision'>;
  /** Defaults to a group of its own per instance: every router must see every decision. */
  groupId?: string;
  logger?: Logger;
  /** Called after each applied decision (tests, audit logs). */
  onApplied?: (decision: PromotionDecisionMessage) => void;
}

export interface DecisionFollower {
  stop(): Promise<void>;
}

export async function followDecisions(opts: FollowOptions): Promise<DecisionFollower> {
  const topic = opts.topic ?? 'umbra.decisions';
  const logger = (opts.logger ?? silentLogger()).child({
    component: 'router-follow',
    topic,
    rollout: opts.rollout,
  });
  const consumer = opts.bus.consumer({
    groupId: opts.groupId ?? `umbra-router-${opts.rollout}-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
  });
  await consumer.run({
    eachBatch: async (batch, ctl) => {
      for (const m of batch.messages) {
        if (!ctl.isRunning() || ctl.isStale()) return;
        let decision: PromotionDecisionMessage | undefined;
        try {
          decision = await decodePromotionDecision(m.value, m.headers);
        } catch (err) {
          // One bad record must not stall the routing: log it and move on.
          logger.warn(
            { err, partition: batch.partition, offset: m.offset },
            'router: undecodable decision skipped',
          );
        }
        if (decision && decision.rollout === opts.rollout) {
          try {
            opts.router.applyDecision(decision);
            logger.info(
              {
                decisionId: decision.decisionId,
                decision: decision.decision,
                nextWeight: decision.nextWeight,
              },
              'router: decision applied',
            );
            opts.onApplied?.(decision);
          } catch (err) {
            // A decision this router cannot apply is reported, not retried forever.
            logger.error({ err, decisionId: decision.decisionId }, 'router: decision not applied');
          }
        }
        ctl.resolveOffset(m.offset);
      }
    },
  });
  return { stop: () => consumer.disconnect() };
}
