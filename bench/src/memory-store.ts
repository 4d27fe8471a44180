// The rate limiter's memory store as the memory measurement drives it.
import { RateLimiterMemory } from 'rate-limiter-flexible';

/** A memory store opened for measurement: one hit per call, keyed by client address. */
export interface StoreUnderTest {
  name: string;
  /** Counts one request of the client at `address` and returns the key it was counted under. */
  hit(address: string): Promise<string> | string;
  /** Keys currently tracked, or null when the store cannot tell. */
  size(): number | null;
  close(): Promise<void>;
}

/** Opens the store under test with a limit of 100 requests a minute. */
export async function openMemoryStore(): Promise<StoreUnderTest> {
  const limiter = new RateLimiterMemory({ points: 100, duration: 60 });
  return {
    name: 'rate-limiter-flexible RateLimiterMemory 100/minute (reference until the plugin store lands)',
    hit: async (address) => {
      await limiter.consume(address);
      return address;
    },
    size: () => null,
    close: async () => {},
  };
}
