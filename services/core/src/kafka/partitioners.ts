/**
 * How a producer picks the partition of a message that names none. kafkajs calls a partitioner
 * once per message; these keep to the shape it passes so `bus.ts` can hand them over as they are.
 */

/** The partition facts kafkajs hands a partitioner (a subset of its PartitionMetadata). */
export interface PartitionInfo {
  partitionId: number;
  /** Negative while the partition has no leader. */
  leader: number;
}

export interface PartitionerArgs {
  topic: string;
  partitionMetadata: PartitionInfo[];
  message: { key?: Buffer | string | null; partition?: number | null };
}

export type Partitioner = (args: PartitionerArgs) => number;

/**
 * Round-robin over the partitions that have a leader, ignoring the key: for records whose key
 * carries no ordering (tapped events), this spares the per-message murmur2 hash, which in kafkajs
 * runs on 64-bit Long objects and costs more than encoding the record. An explicit partition wins.
 */
export function createRoundRobinPartitioner(): Partitioner {
  const next = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const n = partitionMetadata.length;
    // Start each topic at a random partition, so several producers do not all begin at 0.
    let at = next.get(topic) ?? Math.floor(Math.random() * n);
    // Skip leaderless partitions; if none has a leader, kafkajs retries with fresh metadata.
    for (let tries = 0; tries < n; tries++) {
      const p = partitionMetadata[at % n] as PartitionInfo;
      at = (at + 1) % n;
      if (p.leader >= 0) {
        next.set(topic, at);
        return p.partitionId;
      }
    }
    next.set(topic, at);
    return (partitionMetadata[at % n] as PartitionInfo).partitionId;
  };
}
