/**
 * Integration tests run on a real Apache Kafka broker: the one named by KAFKA_BROKERS, or one
 * started here (deploy/local/kafka.ts) and stopped at the end. Never a stand-in, never skipped:
 * if no broker can be had, the run fails here.
 */
import type { TestProject } from 'vitest/node';
import { startKafka } from '../deploy/local/kafka.ts';
import { createKafka } from '@umbra/core/kafka';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Comma-separated host:port list of the test broker. */
    kafkaBrokers: string;
  }
}

async function checkReachable(brokers: string): Promise<void> {
  const admin = createKafka({
    brokers: brokers.split(','),
    clientId: 'umbra-test-setup',
    retry: { retries: 3 },
  }).admin();
  try {
    await admin.describeCluster();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.KAFKA_BROKERS?.trim();
  if (external) {
    await checkReachable(external).catch((err: unknown) => {
      throw new Error(
        `KAFKA_BROKERS=${external} is set but not reachable: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    });
    console.log(`umbra test broker: KAFKA_BROKERS at ${external}`);
    project.provide('kafkaBrokers', external);
    return async () => undefined;
  }

  const kafka = await startKafka();
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const download = kafka.downloaded
    ? `, of which ${seconds(kafka.resolveMs)} resolving the jars with mvn`
    : '';
  console.log(
    `umbra test broker: Apache Kafka ${kafka.version} at ${kafka.brokers} (started in ${seconds(kafka.coldStartMs)}${download})`,
  );
  project.provide('kafkaBrokers', kafka.brokers);
  return () => kafka.stop();
}
