import { describe, expect, it } from 'vitest';
import { createRoundRobinPartitioner, type PartitionInfo } from './partitioners.ts';

const partitions = (leaders: number[]): PartitionInfo[] =>
  leaders.map((leader, partitionId) => ({ partitionId, leader }));

describe('createRoundRobinPartitioner', () => {
  it('spreads keyless and keyed messages evenly over the partitions, whatever the key', () => {
    const partition = createRoundRobinPartitioner();
    const partitionMetadata = partitions([1, 1, 1]);
    const counts = [0, 0, 0];
    for (let i = 0; i < 300; i++) {
      // The same key every time: a key-hash partitioner would put all of them on one partition.
      const message = i % 2 === 0 ? { key: 'same-key' } : {};
      counts[partition({ topic: 't', partitionMetadata, message })]!++;
    }
    expect(counts).toEqual([100, 100, 100]);
  });

  it('takes consecutive partitions, per topic', () => {
    const partition = createRoundRobinPartitioner();
    const partitionMetadata = partitions([1, 1, 1, 1]);
    const a = Array.from({ length: 8 }, () =>
      partition({ topic: 'a', partitionMetadata, message: {} }),
    );
    const b = partition({ topic: 'b', partitionMetadata, message: {} });
    expect(a.slice(4)).toEqual(a.slice(0, 4));
    expect(new Set(a.slice(0, 4))).toEqual(new Set([0, 1, 2, 3]));
    expect(a.slice(1, 4)).toEqual([1, 2, 3].map((d) => (a[0]! + d) % 4));
    expect(b).toBeGreaterThanOrEqual(0);
    expect(b).toBeLessThan(4);
  });

  it('skips partitions without a leader and keeps an explicit partition', () => {
    const partition = createRoundRobinPartitioner();
    const partitionMetadata = partitions([1, -1, 1]);
    const picked = Array.from({ length: 10 }, () =>
      partition({ topic: 't', partitionMetadata, message: {} }),
    );
    expect(picked).not.toContain(1);
    expect(new Set(picked)).toEqual(new Set([0, 2]));
    expect(partition({ topic: 't', partitionMetadata, message: { partition: 1 } })).toBe(1);
  });

  it('still answers a partition when none has a leader (kafkajs then refreshes metadata)', () => {
    const partition = createRoundRobinPartitioner();
    const p = partition({ topic: 't', partitionMetadata: partitions([-1, -1]), message: {} });
    expect([0, 1]).toContain(p);
  });
});
