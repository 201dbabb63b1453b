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

  it('blue-green preview: green takes its share, sticky by key, blue stays active; a switch ends it', () => {
    const t = createRoutingTable('blue-green');
    t.preview(10);
    expect(t.state()).toEqual({ mode: 'blue-green', weight: 10, active: 'blue' });
    expect(t.choose(undefined, 0.05)).toEqual({ backend: 'canary', arm: 'green' });
    expect(t.choose(undefined, 0.5)).toEqual({ backend: 'stable', arm: 'blue' });
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const green = keys.filter((k) => t.choose(k, 0.99).arm === 'green');
    expect(green.length / keys.length).toBeGreaterThan(0.07);
    expect(green.length / keys.length).toBeLessThan(0.13);
    // Sticky: the same users on green whatever the random draw.
    expect(keys.filter((k) => t.choose(k, 0).arm === 'green')).toEqual(green);
    expect(() => t.preview(0)).toThrow(/switch sides/);
    expect(() => t.preview(100)).toThrow(/switch sides/);
    expect(() => createRoutingTable('canary').preview(10)).toThrow(/blue-green/);
    t.switchTo('green');
    expect(t.choose('user-1', 0.99)).toEqual({ backend: 'canary', arm: 'green' });
  });
});
