/** Framework stack that a server variant builds. */
export type Stack = 'fastify-bare' | 'fastify-floor' | 'harden' | 'harden-flood' | 'express';

/** Store of a variant's sessions and rate-limit counters. */
export type StoreKind = 'none' | 'memory' | 'sqlite' | 'redis';

/** The measures of @harden/fastify a variant turns on. */
export interface MeasureSet {
  headers: boolean;
  cors: boolean;
  session: boolean;
  rateLimit: boolean;
  csrf: boolean;
}

/** One server configuration of the benchmark, started in its own child process. */
export interface Variant {
  /** Stable id, used on the command line (`--only`) and as the key in results JSON. */
  id: string;
  /** Row label in the printed table. */
  label: string;
  stack: Stack;
  store: StoreKind;
  /** For `harden`: the measures that are on. Unused by the other stacks. */
  measures: MeasureSet;
}

const ALL: MeasureSet = { headers: true, cors: true, session: true, rateLimit: true, csrf: true };
const NONE: MeasureSet = { headers: false, cors: false, session: false, rateLimit: false, csrf: false };

function only(measure: keyof MeasureSet): MeasureSet {
  return { ...NONE, [measure]: true };
}

/**
 * Every variant, in the order of the printed table. Bare Fastify is the reference: every ratio is
 * taken against it in the same run.
 */
export const VARIANTS: readonly Variant[] = [
  { id: 'fastify', label: 'bare Fastify (reference)', stack: 'fastify-bare', store: 'none', measures: NONE },
  {
    id: 'floor',
    label: 'floor: constant headers hook',
    stack: 'fastify-floor',
    store: 'none',
    measures: NONE,
  },
  {
    id: 'harden-api-memory',
    label: 'harden headers+CORS+rate limit, memory',
    stack: 'harden',
    store: 'memory',
    measures: { ...NONE, headers: true, cors: true, rateLimit: true },
  },
  {
    id: 'harden-all-memory',
    label: 'harden all measures, memory',
    stack: 'harden',
    store: 'memory',
    measures: ALL,
  },
  {
    id: 'harden-all-sqlite',
    label: 'harden all measures, SQLite',
    stack: 'harden',
    store: 'sqlite',
    measures: ALL,
  },
  {
    id: 'harden-all-redis',
    label: 'harden all measures, Redis',
    stack: 'harden',
    store: 'redis',
    measures: ALL,
  },
  {
    id: 'harden-headers',
    label: 'harden headers only',
    stack: 'harden',
    store: 'memory',
    measures: only('headers'),
  },
  { id: 'harden-cors', label: 'harden CORS only', stack: 'harden', store: 'memory', measures: only('cors') },
  {
    // The token is bound to the session, so CSRF is measured with sessions: its cost is this row minus the next.
    id: 'harden-csrf',
    label: 'harden sessions + CSRF check, SQLite',
    stack: 'harden',
    store: 'sqlite',
    measures: { ...NONE, session: true, csrf: true },
  },
  {
    id: 'harden-session',
    label: 'harden sessions only, SQLite',
    stack: 'harden',
    store: 'sqlite',
    measures: only('session'),
  },
  {
    id: 'harden-rate-limit',
    label: 'harden rate limit only, memory',
    stack: 'harden',
    store: 'memory',
    measures: only('rateLimit'),
  },
  {
    id: 'express-memory',
    label: 'Express 5 stack, memory stores',
    stack: 'express',
    store: 'memory',
    measures: ALL,
  },
  {
    id: 'express-redis',
    label: 'Express 5 stack, Redis stores',
    stack: 'express',
    store: 'redis',
    measures: ALL,
  },
];

/**
 * The target of the IPv6 flood, not a throughput row: the plugin with its defaults on the memory store,
 * sessions off, behind a trusted proxy on loopback so that X-Forwarded-For sets each request's client.
 */
export const FLOOD_TARGET: Variant = {
  id: 'flood-target',
  label: 'harden defaults, memory store, behind a trusted proxy',
  stack: 'harden-flood',
  store: 'memory',
  measures: { ...ALL, session: false, csrf: false },
};

/** Finds a variant by id, or throws with the list of known ids. */
export function findVariant(id: string): Variant {
  const variant = [...VARIANTS, FLOOD_TARGET].find((candidate) => candidate.id === id);
  if (!variant) {
    throw new Error(`Unknown variant "${id}". Known variants: ${VARIANTS.map((v) => v.id).join(', ')}.`);
  }
  return variant;
}
