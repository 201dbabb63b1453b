/**
 * The Kafka edge as the rest of umbra sees it: plain records and small interfaces.
 * No kafkajs type crosses this line; `bus.ts` is the only file that imports kafkajs.
 *
 * Offsets are int64 and travel as decimal strings, as on the wire.
 */
import type { Logger } from '../logging/index.ts';

export interface KafkaTlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Defaults to true; turn off only for a local self-signed broker. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface KafkaSaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  username: string;
  password: string;
}

export interface KafkaRetryOptions {
  /** Attempts after the first; 0 fails on the first error. */
  retries?: number;
  initialRetryTimeMs?: number;
  maxRetryTimeMs?: number;
}

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  /** Client warnings and errors go here; defaults to a silent logger. */
  logger?: Logger;
  ssl?: boolean | KafkaTlsOptions;
  sasl?: KafkaSaslOptions;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  retry?: KafkaRetryOptions;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Defaults to 1, which suits a single local broker; set 3 in production. */
  replicationFactor?: number;
  /** Topic configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  config?: Record<string, string>;
}

/**
 * One record to produce. Without `partition`, the producer's `partitioning` picks it: by default
 * the key (murmur2, as the Java client), else round-robin.
 */
export interface OutMessage {
  key?: string | Buffer | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer>;
  partition?: number;
}

/** Where a `send` landed: the first offset written per partition. */
export interface SentRecord {
  topic: string;
  partition: number;
  baseOffset: string;
}

/** One consumed record. A header sent several times keeps its last value. */
export interface InMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | undefined>;
  /** Epoch milliseconds as a string. */
  timestamp: string;
}

export interface InBatch {
  topic: string;
  partition: number;
  /** The partition's end offset when the batch was fetched (next offset to be written). */
  highWatermark: string;
  messages: InMessage[];
}

/**
 * What an `eachBatch` handler may do. Nothing is resolved for it: an offset is committed only
 * after the handler resolved it, and an unresolved message is fetched again.
 */
export interface BatchControl {
  /** Marks this message and every earlier one in the partition as done (commits offset + 1). */
  resolveOffset(offset: string): void;
  /** Keeps the group membership alive inside a long batch; throws when a rebalance started. */
  heartbeat(): Promise<void>;
  /** Commits what was resolved so far (resolved offsets are also committed at every batch end). */
  commitOffsetsIfNecessary(): Promise<void>;
  /** False once `stop()` was called: finish the current message and return. */
  isRunning(): boolean;
  /** True when the partition was sought or reassigned: the rest of the batch is not ours. */
  isStale(): boolean;
  /** Pauses this topic-partition; call the returned function to resume it. */
  pause(): () => void;
}

export type EachBatchHandler = (batch: InBatch, control: BatchControl) => Promise<void>;

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts; default false (only new messages). */
  fromBeginning?: boolean;
  /** Milliseconds. */
  sessionTimeout?: number;
  /** Milliseconds. */
  heartbeatInterval?: number;
  /** Milliseconds a member may take to rejoin during a rebalance. */
  rebalanceTimeout?: number;
  maxBytesPerPartition?: number;
  /** Milliseconds the broker may hold an empty fetch. */
  maxWaitTime?: number;
}

export interface RunOptions {
  eachBatch: EachBatchHandler;
  /** How many partitions are handled at once; default 1. */
  partitionsConsumedConcurrently?: number;
}

export interface TopicPartitions {
  topic: string;
  /** All assigned partitions of the topic when omitted. */
  partitions?: number[];
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read, i.e. the last processed offset + 1 (Kafka's convention). */
  offset: string;
}

export interface ConsumerEvents {
  GROUP_JOIN: {
    groupId: string;
    memberId: string;
    leaderId: string;
    isLeader: boolean;
    /** topic → partitions assigned to this member. */
    memberAssignment: Record<string, number[]>;
    durationMs: number;
  };
  /** The consumer failed; with `restart` it rejoins by itself, else it is stopped. */
  CRASH: { groupId: string; error: Error; restart: boolean };
  REBALANCING: { groupId: string; memberId: string };
  COMMIT_OFFSETS: { groupId: string; memberId: string; offsets: TopicPartitionOffset[] };
  STOP: Record<string, never>;
}

export type ConsumerEventName = keyof ConsumerEvents;

export interface ProducerOptions {
  /**
   * How a message without `partition` finds one. `key` (default): murmur2 of the key, as the Java
   * client, so a key always lands on the same partition. `round-robin`: spread over the partitions
   * regardless of the key, for records whose key orders nothing; cheaper per message in kafkajs.
   */
  partitioning?: 'key' | 'round-robin';
}

export interface BusProducer {
  connect(): Promise<void>;
  /** Idempotent, acks=all. Resolves when every message is durably written. */
  send(topic: string, messages: OutMessage[]): Promise<SentRecord[]>;
  disconnect(): Promise<void>;
}

export interface BusConsumer {
  /** Connects, subscribes and starts the fetch loop; resolves once it runs, not when it ends. */
  run(opts: RunOptions): Promise<void>;
  /** Ends the fetch loop after the batches in hand; resolved offsets are committed. */
  stop(): Promise<void>;
  /** Stops and leaves the group. */
  disconnect(): Promise<void>;
  pause(topicPartitions: TopicPartitions[]): void;
  resume(topicPartitions: TopicPartitions[]): void;
  /** Commits these offsets now; needs a running consumer (a group member). */
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
  on<E extends ConsumerEventName>(
    event: E,
    listener: (payload: ConsumerEvents[E]) => void,
  ): () => void;
}

export interface PartitionOffsets {
  partition: number;
  /** First offset still in the log. */
  low: string;
  /** Next offset to be written (the end offset). */
  high: string;
}

export interface GroupPartitionOffset {
  partition: number;
  /** Next offset the group will read; null when the group committed nothing there. */
  offset: string | null;
}

export interface PartitionLag {
  partition: number;
  committed: string | null;
  end: string;
  /** end − committed; end − low when nothing is committed. */
  lag: string;
}

export interface ClusterInfo {
  clusterId: string;
  controller: number | null;
  brokers: Array<{ nodeId: number; host: string; port: number }>;
}

/** Connects on first use; call `disconnect()` when done. */
export interface BusAdmin {
  describeCluster(): Promise<ClusterInfo>;
  listTopics(): Promise<string[]>;
  /** Creates the missing topics; returns the names it created. Existing topics are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<string[]>;
  /** Deletes those that exist; unknown names are ignored. */
  deleteTopics(topics: string[]): Promise<void>;
  fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]>;
  fetchGroupOffsets(groupId: string, topic: string): Promise<GroupPartitionOffset[]>;
  fetchGroupLag(groupId: string, topic: string): Promise<PartitionLag[]>;
  disconnect(): Promise<void>;
}

export interface KafkaBus {
  readonly clientId: string;
  readonly brokers: readonly string[];
  /** Idempotent: creates the missing topics, returns the names it created. */
  ensureTopics(topics: TopicSpec[]): Promise<string[]>;
  producer(opts?: ProducerOptions): BusProducer;
  consumer(opts: ConsumerOptions): BusConsumer;
  admin(): BusAdmin;
}
