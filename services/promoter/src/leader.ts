/**
 * Single leader through Kafka group membership, no home-made coordination: every promoter joins
 * the consumer group `umbra-promoter` on the one-partition topic `umbra.promoter.leader`; the
 * member the group assigns partition 0 is the leader. A rebalance (a member joins, leaves or
 * stops heartbeating) takes leadership away from everyone until the next assignment, so two
 * promoters never both believe they lead after the broker has moved the partition.
 */
import { EventEmitter } from 'node:events';
import { UmbraError, type Logger } from '@umbra/core';
import type { BusConsumer, KafkaBus } from '@umbra/core/kafka';

export const DEFAULT_LEADER_TOPIC = 'umbra.promoter.leader';
export const DEFAULT_LEADER_GROUP = 'umbra-promoter';

export interface LeadershipOptions {
  bus: KafkaBus;
  logger: Logger;
  topic?: string;
  groupId?: string;
  /** How long the broker waits for a silent leader before handing the partition on (ms). Default 10 s. */
  sessionTimeoutMs?: number;
  /** Default 1 s: a short interval notices rebalances quickly. */
  heartbeatIntervalMs?: number;
}

export interface LeadershipChange {
  leader: boolean;
  memberId: string | null;
  reason: 'assigned' | 'rebalancing' | 'stopped' | 'crashed';
}

export interface Leadership {
  /** Joins the group; resolves once the consumer runs (leadership comes with the first assignment). */
  start(): Promise<void>;
  /** Leaves the group: another member takes over at once. */
  stop(): Promise<void>;
  isLeader(): boolean;
  readonly memberId: string | null;
  /** Called on every change of leadership; returns an unsubscribe function. */
  onChange(listener: (change: LeadershipChange) => void): () => void;
  /** Resolves at the first assignment (leader or standby), or rejects after `timeoutMs`. */
  joined(timeoutMs?: number): Promise<LeadershipChange>;
}

/** A promoter alone: always the leader (embedded mode, tests of one instance, no Kafka configured). */
export function soleLeadership(): Leadership {
  const change: LeadershipChange = { leader: true, memberId: null, reason: 'assigned' };
  return {
    start: async () => undefined,
    stop: async () => undefined,
    isLeader: () => true,
    memberId: null,
    onChange: () => () => undefined,
    joined: async () => change,
  };
}

export function kafkaLeadership(opts: LeadershipOptions): Leadership {
  const topic = opts.topic ?? DEFAULT_LEADER_TOPIC;
  const groupId = opts.groupId ?? DEFAULT_LEADER_GROUP;
  const log = opts.logger.child({ component: 'leadership', topic, groupId });
  const events = new EventEmitter();
  let leader = false;
  let memberId: string | null = null;
  let consumer: BusConsumer | null = null;
  let lastChange: LeadershipChange | null = null;

  const set = (next: boolean, reason: LeadershipChange['reason']): void => {
    const change: LeadershipChange = { leader: next, memberId, reason };
    if (reason === 'assigned') lastChange = change;
    if (next === leader && reason !== 'assigned') return;
    const was = leader;
    leader = next;
    if (was !== next)
      log.info(
        { leader: next, memberId, reason },
        next ? 'became the promoter leader' : 'no longer the promoter leader',
      );
    events.emit('change', change);
  };

  return {
    async start() {
      if (consumer) throw new UmbraError('BAD_ARGUMENT', 'leadership already started');
      // One partition: whoever holds it leads. Created here so a fresh cluster needs no setup.
      await opts.bus.ensureTopics([{ topic, partitions: 1 }]);
      const c = opts.bus.consumer({
        groupId,
        topics: [topic],
        fromBeginning: false,
        sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
        heartbeatInterval: opts.heartbeatIntervalMs ?? 1_000,
        rebalanceTimeout: opts.sessionTimeoutMs ?? 10_000,
        maxWaitTime: 500,
      });
      consumer = c;
      c.on('GROUP_JOIN', (e) => {
        memberId = e.memberId;
        set((e.memberAssignment[topic] ?? []).includes(0), 'assigned');
      });
      // Leadership ends the moment a rebalance starts, before the partition may move elsewhere.
      c.on('REBALANCING', () => set(false, 'rebalancing'));
      c.on('CRASH', (e) => {
        if (e.restart)
          log.warn({ err: e.error }, 'leadership consumer crashed; rejoining the group');
        else
          log.error(
            { err: e.error },
            'leadership consumer stopped after a crash: this promoter stays on standby until it is restarted',
          );
        set(false, 'crashed');
      });
      c.on('STOP', () => set(false, 'stopped'));
      await c.run({
        // The topic carries no commands: membership is the point. Resolve what arrives so the
        // group's offset keeps up, and heartbeat.
        eachBatch: async (batch, control) => {
          const last = batch.messages[batch.messages.length - 1];
          if (last) control.resolveOffset(last.offset);
          await control.heartbeat();
        },
      });
    },
    async stop() {
      const c = consumer;
      consumer = null;
      set(false, 'stopped');
      if (c) await c.disconnect();
    },
    isLeader: () => leader,
    get memberId() {
      return memberId;
    },
    onChange(listener) {
      events.on('change', listener);
      return () => events.off('change', listener);
    },
    joined(timeoutMs = 60_000) {
      if (lastChange) return Promise.resolve(lastChange);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('change', onChange);
          reject(
            new UmbraError(
              'KAFKA_UNAVAILABLE',
              `no assignment from group ${groupId} within ${timeoutMs} ms`,
              { retriable: true, context: { groupId, topic } },
            ),
          );
        }, timeoutMs);
        const onChange = (c: LeadershipChange): void => {
          if (c.reason !== 'assigned') return;
          clearTimeout(timer);
          events.off('change', onChange);
          resolve(c);
        };
        events.on('change', onChange);
      });
    },
  };
}
