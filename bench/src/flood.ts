import autocannon from 'autocannon';
import { startServer } from './child.js';
import { randomIpv6 } from './memory-store.js';
import type { FloodReport } from './memory-types.js';
import type { BenchSettings } from './options.js';
import { FLOOD_TARGET } from './variants.js';

/** Heap samples taken during the flood, one after each equal chunk of requests. */
const FLOOD_SAMPLES = 10;
/**
 * The flood counts as bounded when the largest heap of its second half is at most this factor of the
 * largest heap of its first half. With a flood several times the store's capacity, the store is full
 * early in the first half. A store that keeps every key then grows in the second half by its per-key
 * size times half the flood, while a bounded one only replaces keys.
 */
const BOUNDED_GROWTH = 1.1;

/**
 * Floods the plugin (defaults, memory store) over real HTTP with requests whose X-Forwarded-For is a
 * random IPv6 address, from a proxy the server trusts, so every request is a new client key. Samples
 * the server's heap after GC between chunks. Every request must get status 200.
 */
export async function runFlood(settings: BenchSettings): Promise<FloodReport> {
  const server = await startServer(FLOOD_TARGET.id, settings.build, {}, ['--expose-gc']);
  const samples: FloodReport['samples'] = [];
  try {
    const chunk = Math.max(settings.connections, Math.ceil(settings.floodRequests / FLOOD_SAMPLES));
    let sent = 0;
    while (sent < settings.floodRequests) {
      const amount = Math.max(Math.min(chunk, settings.floodRequests - sent), settings.connections);
      const result = await autocannon({
        url: `http://127.0.0.1:${server.port}`,
        connections: settings.connections,
        amount,
        requests: [
          {
            method: 'GET',
            path: '/',
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, 'x-forwarded-for': randomIpv6() },
            }),
          },
        ],
      });
      const codes = Object.keys(result.statusCodeStats ?? {});
      if (result.errors > 0 || codes.some((code) => code !== '200')) {
        throw new Error(
          `Flood requests did not all get 200: ${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors`,
        );
      }
      sent += amount;
      const memory = await server.memory();
      samples.push({
        requests: sent,
        heapUsedBytes: memory.heapUsedBytes,
        rssBytes: memory.rssBytes,
        trackedKeys: null,
      });
    }
  } finally {
    await server.stop();
  }
  const half = Math.ceil(samples.length / 2);
  const firstHalfMax = Math.max(...samples.slice(0, half).map((sample) => sample.heapUsedBytes));
  const secondHalfMax = Math.max(...samples.slice(half).map((sample) => sample.heapUsedBytes));
  const bounded = samples.length >= 2 && secondHalfMax <= firstHalfMax * BOUNDED_GROWTH;
  const requests = samples.at(-1)?.requests ?? 0;
  // Random 128-bit addresses: their /64 prefixes collide with negligible probability, so each request is a new client key.
  return { requests, distinctKeys: requests, samples, bounded };
}
