import { createHash } from 'node:crypto';
import { clientKeyFromIp, HardenConfigError, parseRate, type Rate } from '@harden/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RejectionHandler } from '../reject.js';
import { sendRejection } from '../reject.js';
import type { Limiter, LimiterFactory } from './limiters.js';
import { isOverLimit } from './redis-limiter.js';

/** Limits of one brute-force guard. */
export interface GuardOptions {
  /**
   * Attempts per account (the normalised email) per window, from any number of addresses. For login,
   * past it the account is blocked (429, growing block). For password reset it limits mail only: past
   * it the request is answered as usual and `sendMail` is false, so other clients cannot block an owner's reset.
   */
  perAccount?: string;
  /** Attempts per client key per window, across every account. */
  perClient?: string;
  /**
   * Maximum block length, in seconds. The n-th block of a key within this period lasts the limit's window
   * times 2^(n-1), capped here. Default: 86400 (one day).
   */
  maxBlockSeconds?: number;
}

/**
 * Brute-force protection of login and password-reset requests. Defaults:
 * login `{ perAccount: '10/hour', perClient: '20/hour', maxBlockSeconds: 86400 }`,
 * passwordReset `{ perAccount: '5/30minutes', perClient: '20/hour', maxBlockSeconds: 86400 }`. The
 * reset window is no longer than the notes app's 30-minute reset link. So while mail is held back,
 * the mails sent in the current window still contain a working link.
 */
export interface BruteForceOptions {
  login?: GuardOptions;
  passwordReset?: GuardOptions;
}

/** The outcome of `check`: whether the attempt may go on, and the calls to make after it. */
export interface Attempt {
  /** True when the attempt may go on to verify the password (or send the reset mail). */
  readonly allowed: boolean;
  /**
   * Whether to send the mail the request is for. Password-reset guard: false once the account's
   * `perAccount` limit is reached, while `allowed` stays true: answer as for any request and send
   * nothing, so others can neither flood the owner's mailbox nor block the owner's reset. Login guard:
   * the same as `allowed`.
   */
  readonly sendMail: boolean;
  /** Seconds until the client may try again; 0 when allowed. */
  readonly retryAfterSeconds: number;
  /** The limit that rejected the attempt: the account's count, the client's count, or a failed store. */
  readonly blockedBy: 'account' | 'client' | 'store' | undefined;
  /** Logs the failed attempt. The attempt was already counted by `check`, so parallel guesses cannot skip the count. */
  recordFailure(): void;
  /**
   * Takes back off the client's count the attempts it made on this account, and this attempt off the
   * account's count. Failures on other accounts stay counted, so signing in to an account of one's own
   * does not reset a password-spraying client.
   */
  recordSuccess(): Promise<void>;
  /**
   * Sends the refusal: 429 with Retry-After (503 when the store failed), through the app's onRejection
   * when it takes it. The handler runs after the body is parsed, so onRejection can show the form again
   * with what the user typed; `rejection.details.retryAfterSeconds` contains the wait in seconds.
   */
  reject(reply: FastifyReply): Promise<FastifyReply>;
}

/**
 * Counts attempts per account and per client, and blocks either with a growing block time once it goes
 * over its limit. A handler reads: `check` before verifying the password, then `recordFailure` or
 * `recordSuccess`.
 */
export interface AttemptGuard {
  /**
   * Counts this attempt for the account and for the client (request.ip as Fastify's trustProxy decides
   * it) before the password is verified, and returns whether it may go on.
   */
  check(request: FastifyRequest, account: string): Promise<Attempt>;
  /** Forgets the account's count and blocks, for example once its owner has set a new password. */
  clearAccount(account: string): Promise<void>;
}

/** `app.harden.bruteForce`: one guard for login, one for password-reset requests. They count apart. */
export interface BruteForceApi {
  readonly login: AttemptGuard;
  readonly passwordReset: AttemptGuard;
  /** Returns the key an account is counted under: a hash of the normalised email, never the email itself. */
  accountKey(account: string): string;
}

/** Validated guard settings. */
export interface ResolvedGuard {
  readonly perAccount: Rate;
  readonly perClient: Rate;
  readonly maxBlockSeconds: number;
}

/** Validated brute-force settings. */
export interface ResolvedBruteForce {
  readonly login: ResolvedGuard;
  readonly passwordReset: ResolvedGuard;
}

const DEFAULT_GUARDS: Readonly<Record<keyof BruteForceOptions, Required<GuardOptions>>> = {
  login: { perAccount: '10/hour', perClient: '20/hour', maxBlockSeconds: 24 * 60 * 60 },
  passwordReset: { perAccount: '5/30minutes', perClient: '20/hour', maxBlockSeconds: 24 * 60 * 60 },
};

const GUARD_KEYS = new Set(['perAccount', 'perClient', 'maxBlockSeconds']);

/** Validates the brute-force options and fills in defaults. Throws HardenConfigError naming the option. */
export function resolveBruteForceOptions(
  options: BruteForceOptions | undefined,
  option: string,
): ResolvedBruteForce {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new HardenConfigError(option, options, 'it is not an object', 'give { login?, passwordReset? }');
  }
  for (const key of Object.keys(options ?? {})) {
    if (key !== 'login' && key !== 'passwordReset') {
      throw new HardenConfigError(
        `${option}.${key}`,
        options?.[key as keyof BruteForceOptions],
        'it is not a known option',
        'use login or passwordReset',
      );
    }
  }
  return {
    login: resolveGuard(options?.login, DEFAULT_GUARDS.login, `${option}.login`),
    passwordReset: resolveGuard(
      options?.passwordReset,
      DEFAULT_GUARDS.passwordReset,
      `${option}.passwordReset`,
    ),
  };
}

function resolveGuard(
  options: GuardOptions | undefined,
  defaults: Required<GuardOptions>,
  option: string,
): ResolvedGuard {
  for (const key of Object.keys(options ?? {})) {
    if (!GUARD_KEYS.has(key)) {
      throw new HardenConfigError(
        `${option}.${key}`,
        options?.[key as keyof GuardOptions],
        'it is not a known option',
        'use perAccount, perClient or maxBlockSeconds',
      );
    }
  }
  const perAccount = parseRate(options?.perAccount ?? defaults.perAccount, `${option}.perAccount`);
  const perClient = parseRate(options?.perClient ?? defaults.perClient, `${option}.perClient`);
  const maxBlockSeconds = options?.maxBlockSeconds ?? defaults.maxBlockSeconds;
  const longestWindow = Math.max(perAccount.windowSeconds, perClient.windowSeconds);
  if (!Number.isInteger(maxBlockSeconds) || maxBlockSeconds < longestWindow) {
    throw new HardenConfigError(
      `${option}.maxBlockSeconds`,
      maxBlockSeconds,
      `it must be a whole number of seconds, at least the longest window (${longestWindow})`,
      `give at least ${longestWindow}, for example 86400 for one day`,
    );
  }
  return { perAccount, perClient, maxBlockSeconds };
}

/**
 * Returns the form of an account identifier that is counted: Unicode NFKC (so full-width and other
 * compatibility spellings of one address count as one), trimmed, lower-cased. A `+tag` is kept, because
 * `a+x@example.com` is another account to the app; provider rules (Gmail dots, tags) are not applied.
 * Folding more than the app does can only merge counts, never split them.
 */
export function normalizeAccountId(account: string): string {
  return account.normalize('NFKC').trim().toLowerCase();
}

/** Returns the counting key of an account: a SHA-256 of its normalised form, so stores never hold emails. */
export function accountKey(account: string): string {
  return createHash('sha256').update(normalizeAccountId(account)).digest('base64url').slice(0, 32);
}

/**
 * Returns the counting key of the mailbox an address delivers to: its normalised form without a `+tag`
 * in the local part, so reset mail to `a+1@example.com` and `a+2@example.com` counts against one inbox.
 */
export function mailboxKey(account: string): string {
  const normalized = normalizeAccountId(account);
  const at = normalized.lastIndexOf('@');
  const plus = normalized.indexOf('+');
  if (at === -1 || plus <= 0 || plus > at) return accountKey(normalized);
  return accountKey(normalized.slice(0, plus) + normalized.slice(at));
}

/** Creates the login and password-reset guards on the plugin's store. */
export function createBruteForceApi(
  resolved: ResolvedBruteForce,
  factory: LimiterFactory,
  options: { ipv6PrefixLength: number; onRejection: RejectionHandler | undefined },
): BruteForceApi {
  return {
    login: createGuard('login', resolved.login, factory, options, accountKey),
    // Reset requests count per mailbox: the limit bounds the mail one inbox receives, whatever the tag.
    passwordReset: createGuard('password_reset', resolved.passwordReset, factory, options, mailboxKey),
    accountKey,
  };
}

/** A limit and the count of blocks already served under it, which makes the next block longer. */
interface Scope {
  readonly name: 'account' | 'client';
  readonly rate: Rate;
  readonly attempts: Limiter;
  readonly blocks: Limiter;
}

type ScopeOutcome =
  | { allowed: true; remaining: number }
  | { allowed: false; retryAfterMs: number }
  | { allowed: false; unavailable: true };

/** Retry-After of a 503 when the store failed and nothing counted the attempt. */
const STORE_RETRY_SECONDS = 5;

const GUARD_MESSAGES: Readonly<Record<string, string>> = {
  login: 'Too many sign-in attempts.',
  password_reset: 'Too many password-reset requests.',
};

function createGuard(
  guardName: 'login' | 'password_reset',
  resolved: ResolvedGuard,
  factory: LimiterFactory,
  options: { ipv6PrefixLength: number; onRejection: RejectionHandler | undefined },
  keyOfAccount: (account: string) => string,
): AttemptGuard {
  const scope = (name: 'account' | 'client', rate: Rate): Scope => ({
    name,
    rate,
    attempts: factory.create({
      name: `${guardName}:${name}`,
      points: rate.points,
      duration: rate.windowSeconds,
    }),
    // Counts blocks served within the longest block time; its limit is never reached on purpose.
    blocks: factory.create({
      name: `${guardName}:${name}:blocks`,
      points: Number.MAX_SAFE_INTEGER,
      duration: resolved.maxBlockSeconds,
    }),
  });
  const account = scope('account', resolved.perAccount);
  const client = scope('client', resolved.perClient);
  // Attempts per (client, account) pair within the client's window: what a success may forgive.
  const pairAttempts = factory.create({
    name: `${guardName}:client-account`,
    points: Number.MAX_SAFE_INTEGER,
    duration: resolved.perClient.windowSeconds,
  });

  // The password-reset guard's account limit only holds mail back (Attempt.sendMail), so countIn gets
  // growingBlock false for it and the account is never blocked.
  const accountLimitsMail = guardName === 'password_reset';

  async function countIn(target: Scope, key: string, growingBlock = true): Promise<ScopeOutcome> {
    try {
      const result = await target.attempts.consume(key);
      return { allowed: true, remaining: result.remainingPoints };
    } catch (reason) {
      if (!isOverLimit(reason)) return { allowed: false, unavailable: true };
      if (!growingBlock || reason.consumedPoints !== target.rate.points + 1)
        return { allowed: false, retryAfterMs: reason.msBeforeNext };

      // This attempt crossed the limit: block for the window times 2^(blocks served before), capped.
      try {
        const served = await target.blocks.penalty(key);
        const growth = 2 ** Math.min(served.consumedPoints - 1, 30);
        const seconds = Math.min(target.rate.windowSeconds * growth, resolved.maxBlockSeconds);
        const blocked = await target.attempts.block(key, seconds);
        return { allowed: false, retryAfterMs: blocked.msBeforeNext };
      } catch {
        return { allowed: false, retryAfterMs: reason.msBeforeNext };
      }
    }
  }

  return {
    async check(request, accountId) {
      const clientKey = clientKeyFromIp(request.ip, options.ipv6PrefixLength);
      const hashedAccount = keyOfAccount(accountId);

      // The client is counted first, so a client that is already blocked adds nothing to the account's count.
      const clientOutcome = await countIn(client, clientKey);
      const pairKey = `${clientKey}|${hashedAccount}`;
      if (clientOutcome.allowed) await pairAttempts.consume(pairKey).catch(() => undefined);
      const accountOutcome: ScopeOutcome = clientOutcome.allowed
        ? await countIn(account, hashedAccount, !accountLimitsMail)
        : { allowed: true, remaining: 0 };
      const mailLimitReached = accountLimitsMail && 'retryAfterMs' in accountOutcome;

      let refusal: { scope: Scope; outcome: ScopeOutcome } | undefined;
      if (!clientOutcome.allowed) refusal = { scope: client, outcome: clientOutcome };
      else if (!accountOutcome.allowed && !mailLimitReached)
        refusal = { scope: account, outcome: accountOutcome };
      if (refusal === undefined && mailLimitReached) {
        request.log.info(
          { event: 'rate_limit.reset_mail_withheld', guard: guardName, rate: resolved.perAccount.source },
          'Reset mail held back: the account reached its mail limit',
        );
      }

      let blockedBy: Attempt['blockedBy'];
      let retryAfterSeconds = 0;
      if (refusal !== undefined && 'retryAfterMs' in refusal.outcome) {
        blockedBy = refusal.scope.name;
        retryAfterSeconds = Math.max(Math.ceil(refusal.outcome.retryAfterMs / 1000), 1);
      } else if (refusal !== undefined) {
        blockedBy = 'store';
        retryAfterSeconds = STORE_RETRY_SECONDS;
      }

      return {
        allowed: refusal === undefined,
        sendMail: refusal === undefined && !mailLimitReached,
        retryAfterSeconds,
        blockedBy,
        recordFailure() {
          request.log.info(
            {
              event: 'rate_limit.attempt_failed',
              guard: guardName,
              remainingForClient: clientOutcome.allowed ? clientOutcome.remaining : 0,
              remainingForAccount: accountOutcome.allowed ? accountOutcome.remaining : 0,
            },
            `Failed ${guardName} attempt counted`,
          );
        },
        async recordSuccess() {
          const onThisAccount = await pairAttempts.get(pairKey).catch(() => null);
          await Promise.all([
            client.attempts.reward(clientKey, onThisAccount?.consumedPoints ?? 1),
            pairAttempts.delete(pairKey),
            account.attempts.reward(hashedAccount),
          ]);
        },
        reject(reply) {
          if (blockedBy === 'store') {
            return sendRejection(
              request,
              reply,
              {
                status: 503,
                event: 'rate_limit.unavailable',
                reason: 'rate-limit-store-unavailable',
                message: 'The service cannot count attempts right now.',
                headers: { 'retry-after': String(retryAfterSeconds) },
                details: { limit: guardName, retryAfterSeconds },
              },
              options.onRejection,
            );
          }
          const scopeRate = blockedBy === 'account' ? resolved.perAccount : resolved.perClient;
          return sendRejection(
            request,
            reply,
            {
              status: 429,
              event: 'rate_limit.exceeded',
              reason: 'too-many-attempts',
              message: GUARD_MESSAGES[guardName] ?? 'Too many attempts.',
              headers: { 'retry-after': String(retryAfterSeconds) },
              details: { limit: `${guardName}.${blockedBy}`, rate: scopeRate.source, retryAfterSeconds },
            },
            options.onRejection,
          );
        },
      };
    },

    async clearAccount(accountId) {
      const hashedAccount = keyOfAccount(accountId);
      await Promise.all([account.attempts.delete(hashedAccount), account.blocks.delete(hashedAccount)]);
    },
  };
}
