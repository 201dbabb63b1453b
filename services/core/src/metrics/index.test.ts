import { describe, expect, it } from 'vitest';
import { Counter, createRegistry, serveMetrics } from './index.ts';

describe('serveMetrics', () => {
  it('exposes the registry on /metrics and health on /healthz', async () => {
    const registry = createRegistry('test', { defaultMetrics: false });
    const events = new Counter({ name: 'umbra_events_consumed_total', help: 'events', registers: [registry] });
    events.inc(3);
    let ok = true;
    const server = await serveMetrics(registry, { health: () => ({ ok }) });
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toContain('umbra_events_consumed_total{service="test"} 3');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      ok = false;
      expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
      expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
