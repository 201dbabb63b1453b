/**
 * The request tap: records production requests as RequestEvents on Kafka without ever making
 * the request wait. `tap()` encodes the event and queues it; a background loop sends batches.
 * Memory is bounded by `maxBuffer` events: when Kafka is slow or down, batches are retried with
 * backoff while they stay in the buffer, and only events that arrive at a full buffer are
 * dropped (and counted). Losing tap events is acceptable; slowing production is not.
 */
import { encodeRequestEvent } from '../avro/index.ts';
import type { RequestEvent } from '../domain/events.ts';
import type { OutMessage, ProducerOptions } from '../kafka/types.ts';
import { silentLogger, type Logger } from '../logging/index.ts';
import { Counter, Gauge, type Registry } from '../metrics/index.ts';
import { UmbraError } from '../errors.ts';

/** The part of a Kafka producer the tap uses (a `BusProducer` fits). */
export interface TapProducer {
  connect(): Promise<void>;
  send(topic: string, messages: OutMessage[]): Promise<unknown>;
  disconnect(): Promise<void>;
}

export interface TapOptions {
  /** Where the producer comes from: a `KafkaBus`, or anything with `producer()` in unit tests. */
  bus: { producer(opts?: ProducerOptions): TapProducer };
  topic: string;
  /** Events held at most (queued + in flight); an event arriving at a full buffer is dropped. */
  maxBuffer?: number;
  batchSize?: number;
  /**
   * How long a partial batch waits for more events before it is sent. Default 100: kafkajs
   * spends about as much per produce request as on dozens of records, so fewer, fuller batches
   * cost less CPU per event; events reach Kafka at most this much later.
   */
  lingerMs?: number;
  /** First retry delay after a failed batch; doubles up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long `close()` tries to deliver what is still buffered. */
  closeTimeoutMs?: number;
  logger?: Logger;
  registry?: Registry;
}

export interface TapStats {
  /** Events in the buffer, including the batch in flight. */
  queued: number;
  sent: number;
  /** Events lost: buffer full, invalid, rejected by Kafka for good, or undelivered at close. */
  dropped: number;
  failedBatches: number;
}

export interface TapEventOptions {
  /** The caller made `input` and `output` JSON itself (it parsed them): the encoder skips that check. */
  jsonChecked?: boolean;
}

export interface Tap {
  /** Queues the event; false when it was dropped. Never throws, never blocks. */
  tap(event: RequestEvent, opts?: TapEventOptions): boolean;
  /**
   * Whether tap() would take an event now. When it would not (buffer full, or closed) the event
   * is counted as dropped here and false returned, so a caller can skip building it: with Kafka
   * down, the cost of an event that is only dropped stays off the request path.
   */
  admit(): boolean;
  /** Resolves true once everything queued before the call was sent, false at the timeout. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Delivers what it can within `closeTimeoutMs`, counts the rest as dropped, disconnects. */
  close(): Promise<void>;
  stats(): TapStats;
}

type DropReason = 'full' | 'invalid' | 'rejected' | 'closed';

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new UmbraError('BAD_ARGUMENT', `tap ${name} must be an integer >= 1, got ${value}`);
  }
  return value;
}

function metric<T>(registry: Registry, name: string, make: () => T): T {
  // Several taps may share a process registry; the second one reuses the metric.
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function createTap(opts: TapOptions): Tap {
  if (!opts.topic) throw new UmbraError('BAD_ARGUMENT', 'tap topic must be a non-empty string');
  const maxBuffer = positiveInt('maxBuffer', opts.maxBuffer ?? 10_000);
  const batchSize = positiveInt('batchSize', opts.batchSize ?? 500);
  const lingerMs = opts.lingerMs ?? 100;
  const initialBackoffMs = opts.initialBackoffMs ?? 100;
  const maxBackoffMs = opts.maxBackoffMs ?? 5_000;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 5_000;
  const topic = opts.topic;
  const logger = (opts.logger ?? silentLogger()).child({ component: 'tap', topic });

  const registry = opts.registry;
  const sentTotal = registry
    ? metric(
        registry,
        'umbra_tap_sent_total',
        () =>
          new Counter({
            name: 'umbra_tap_sent_total',
            help: 'Tapped events written to Kafka.',
            labelNames: ['topic'],
            registers: [registry],
          }),
      )
    : undefined;
  const droppedTotal = registry
    ? metric(
        registry,
        'umbra_tap_dropped_total',
        () =>
          new Counter({
            name: 'umbra_tap_dropped_total',
            help: 'Tapped events dropped: buffer full, invalid, or undelivered at close.',
            labelNames: ['topic', 'reason'],
            registers: [registry],
          }),
      )
    : undefined;
  const failedTotal = registry
    ? metric(
        registry,
        'umbra_tap_failed_batches_total',
        () =>
          new Counter({
            name: 'umbra_tap_failed_batches_total',
            help: 'Tap batches that failed to send and were retried.',
            labelNames: ['topic'],
            registers: [registry],
          }),
      )
    : undefined;
  const queuedGauge = registry
    ? metric(
        registry,
        'umbra_tap_queued',
        () =>
          new Gauge({
            name: 'umbra_tap_queued',
            help: 'Tapped events waiting in the buffer.',
            labelNames: ['topic'],
            registers: [registry],
          }),
      )
    : undefined;

  // An event's key (its id) orders nothing: spread events without hashing every key.
  const producer = opts.bus.producer({ partitioning: 'round-robin' });
  let connected = false;
  const queue: OutMessage[] = [];
  let sent = 0;
  // Events that left the buffer by being sent or rejected; flush() waits on this.
  let settled = 0;
  let dropped = 0;
  let failedBatches = 0;
  let sending = false;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let backoffMs = 0;
  // Bumped when close() gives up on the buffer, so a late send result is not counted twice.
  let epoch = 0;
  // Each flush() waiter resolves once `settled` reaches its target.
  let waiters: Array<{ target: number; resolve: (ok: boolean) => void }> = [];

  const drop = (reason: DropReason, n = 1): void => {
    dropped += n;
    droppedTotal?.inc({ topic, reason }, n);
  };

  const settleWaiters = (): void => {
    waiters = waiters.filter((w) => {
      if (settled < w.target) return true;
      w.resolve(true);
      return false;
    });
  };

  const schedule = (delayMs: number): void => {
    if (sending || timer !== null || queue.length === 0) return;
    timer = setTimeout(() => {
      timer = null;
      void sendBatch();
    }, delayMs);
    // A pending batch must not keep the process alive on its own; close() flushes it.
    timer.unref();
  };

  const sendNow = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (!sending && queue.length > 0) void sendBatch();
  };

  async function sendBatch(): Promise<void> {
    if (sending || queue.length === 0) return;
    sending = true;
    // The batch stays in the queue until it is written, so it counts against the bound.
    const batch = queue.slice(0, batchSize);
    const batchEpoch = epoch;
    try {
      if (!connected) {
        await producer.connect();
        connected = true;
      }
      await producer.send(topic, batch);
      if (batchEpoch !== epoch) return;
      queue.splice(0, batch.length);
      sent += batch.length;
      settled += batch.length;
      sentTotal?.inc({ topic }, batch.length);
      queuedGauge?.set({ topic }, queue.length);
      if (backoffMs > 0)
        logger.info({ queued: queue.length }, 'tap: Kafka is back, sending resumed');
      backoffMs = 0;
      settleWaiters();
    } catch (err) {
      if (batchEpoch !== epoch) return;
      failedBatches++;
      failedTotal?.inc({ topic });
      if (err instanceof UmbraError && err.code === 'KAFKA_FAILED' && !err.retriable) {
        // Kafka refused the batch itself (too large, not authorised): retrying cannot help,
        // and holding it would block every event behind it.
        queue.splice(0, batch.length);
        queuedGauge?.set({ topic }, queue.length);
        drop('rejected', batch.length);
        settled += batch.length;
        settleWaiters();
        logger.error({ err, events: batch.length }, 'tap: batch rejected by Kafka, dropped');
      } else {
        // Reconnect on the next attempt: the producer may have lost its connection for good.
        connected = false;
        backoffMs = backoffMs === 0 ? initialBackoffMs : Math.min(maxBackoffMs, backoffMs * 2);
        logger.warn(
          { err, queued: queue.length, retryInMs: backoffMs },
          'tap: batch not sent, will retry',
        );
      }
    } finally {
      sending = false;
    }
    if (closed && (backoffMs > 0 || batchEpoch !== epoch)) return;
    if (backoffMs > 0) schedule(backoffMs);
    else if (queue.length >= batchSize || closed || waiters.length > 0) sendNow();
    else schedule(lingerMs);
  }

  function flush(timeoutMs = closeTimeoutMs): Promise<boolean> {
    if (queue.length === 0) return Promise.resolve(true);
    const target = settled + queue.length;
    return new Promise<boolean>((resolve) => {
      const waiter = {
        target,
        resolve: (ok: boolean) => {
          clearTimeout(deadline);
          resolve(ok);
        },
      };
      const deadline = setTimeout(() => {
        waiters = waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      waiters.push(waiter);
      if (backoffMs === 0) sendNow();
    });
  }

  const admit = (): boolean => {
    if (closed) {
      drop('closed');
      return false;
    }
    if (queue.length >= maxBuffer) {
      drop('full');
      return false;
    }
    return true;
  };

  return {
    admit,
    tap(event, how) {
      if (!admit()) return false;
      let encoded;
      try {
        encoded = encodeRequestEvent(event, {
          format: 'raw',
          version: 2,
          jsonChecked: how?.jsonChecked === true,
        });
      } catch (err) {
        drop('invalid');
        logger.debug({ err, eventId: event.eventId }, 'tap: event refused by the encoder');
        return false;
      }
      queue.push({ key: event.eventId, value: encoded.value, headers: encoded.headers });
      queuedGauge?.set({ topic }, queue.length);
      // While Kafka is failing the backoff timer decides; a full batch does not hurry it.
      if (queue.length >= batchSize && backoffMs === 0) sendNow();
      else schedule(lingerMs);
      return true;
    },

    flush,

    async close() {
      if (closed) return;
      const drained = await flush(closeTimeoutMs);
      closed = true;
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      if (!drained) {
        logger.warn({ undelivered: queue.length }, 'tap: closing with undelivered events');
        drop('closed', queue.length);
        queue.length = 0;
        epoch++;
        queuedGauge?.set({ topic }, 0);
      }
      // A producer that never connected may hang in disconnect; bound it.
      await Promise.race([
        producer.disconnect().catch(() => undefined),
        new Promise((r) => setTimeout(r, 1_000).unref()),
      ]);
    },

    stats: () => ({ queued: queue.length, sent, dropped, failedBatches }),
  };
}
