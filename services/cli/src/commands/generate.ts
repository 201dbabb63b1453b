import type { Command } from 'commander';
import { UmbraError } from '@umbra/core';
import { encodeRequestEvent, writeAvroContainer, writeNdjson } from '@umbra/core/avro';
import type { OutMessage } from '@umbra/core/kafka';
import { generateTraffic } from '@umbra/replayer';
import { openKafka, startup, type GlobalOptions } from '../runtime.ts';

interface GenerateOptions {
  count: number;
  seed: number;
  out?: string;
  topic?: string;
  schemaVersion: number;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('produce realistic demo traffic (segments, latency, a baseline model) to Kafka, or write a capture file')
    .option('--count <n>', 'events', (v) => Number.parseInt(v, 10), 10_000)
    .option('--seed <n>', 'random seed: the same seed gives the same events (times are relative to now)', (v) => Number.parseInt(v, 10), 7)
    .option('--out <file>', 'write a capture file instead (.ndjson or .avro)')
    .option('--topic <topic>', 'Kafka topic (default: kafka.topics.requests)')
    .option('--schema-version <v>', 'RequestEvent schema version to write (1 or 2)', (v) => Number.parseInt(v, 10), 2)
    .action(async (opts: GenerateOptions, cmd: Command) => {
      const { config, logger } = startup(cmd.optsWithGlobals<GlobalOptions>(), 'generate');
      if (!Number.isInteger(opts.count) || opts.count < 1) throw new UmbraError('BAD_ARGUMENT', '--count: expected a positive whole number');
      if (opts.schemaVersion !== 1 && opts.schemaVersion !== 2) throw new UmbraError('BAD_ARGUMENT', '--schema-version: expected 1 or 2');
      const events = generateTraffic({ count: opts.count, seed: opts.seed });
      if (opts.out) {
        const n = opts.out.endsWith('.avro')
          ? await writeAvroContainer(opts.out, events, { version: opts.schemaVersion })
          : await writeNdjson(opts.out, events);
        process.stdout.write(`wrote ${n} events to ${opts.out}\n`);
        return;
      }
      const bus = openKafka(config, logger);
      if (!bus || !config.kafka) throw new UmbraError('CONFIG_INVALID', 'no Kafka configured: set kafka.brokers or KAFKA_BROKERS, or give --out FILE');
      const topic = opts.topic ?? config.kafka.topics.requests;
      await bus.ensureTopics([{ topic, partitions: 6 }]);
      const producer = bus.producer();
      await producer.connect();
      let batch: OutMessage[] = [];
      let sent = 0;
      for (const event of events) {
        const { value, headers } = encodeRequestEvent(event, { format: 'raw', version: opts.schemaVersion });
        batch.push({ key: event.eventId, value, headers });
        if (batch.length === 1_000) {
          await producer.send(topic, batch);
          sent += batch.length;
          batch = [];
        }
      }
      if (batch.length) await producer.send(topic, batch);
      sent += batch.length;
      await producer.disconnect();
      process.stdout.write(`produced ${sent} events to ${topic} on ${config.kafka.brokers.join(',')}\n`);
    });
}
