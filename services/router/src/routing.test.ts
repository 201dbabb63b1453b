import { describe, expect, it } from 'vitest';
import { createRoutingTable } from './routing.ts';

describe('routing table', () => {
  it('splits keyless traffic by the random draw at the current weight', () => {
    const t = createRoutingTable('canary', 30);
    expect(t.choose(undefined, 0.29).backend).toBe('canary');
    expect(t.choose(undefined, 0.3).backend).toBe('stable');
    t.setWeight(0);
    expect(t.choose(undefined, 0).arm).toBe('stable');
    t.setWeight(100);
    expect(t.choose(undefined, 0.999).arm).toBe('canary');
  });

  it('refuses weights outside 0..100 and the other mode’s commands', () => {
    const t = createRoutingTable('canary');
    expect(() => t.setWeight(101)).toThrow(/0\.\.100/);
    expect(() => t.setWeight(Number.NaN)).toThrow(/0\.\.100/);
    expect(() => t.switchTo('green')).toThrow(/canary mode/);
    const bg = createRoutingTable('blue-green');
    expect(() => bg.setWeight(50)).toThrow(/blue-green/);
    expect(() => createRoutingTable('blue-green', 40)).toThrow(/blue-green/);
  });

  it('blue-green sends everything to one side and switches in one step', () => {
    const t = createRoutingTable('blue-green');
    expect(t.state()).toEqual({ mode: 'blue-green', weight: 0, active: 'blue' });
    expect(t.choose('anyone', 0.01)).toEqual({ backend: 'stable', arm: 'blue' });
    t.switchTo('green');
    expect(t.state()).toEqual({ mode: 'blue-green', weight: 100, active: 'green' });
    expect(t.choose('anyone', 0.99)).toEqual({ backend: 'canary', arm: 'green' });
  });
});
