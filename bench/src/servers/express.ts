import { createServer, type Server } from 'node:http';
import { RedisStore as RedisSessionStore } from 'connect-redis';
import cookieParser from 'cookie-parser';
import cors from 'cors';
import { doubleCsrf } from 'csrf-csrf';
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import session from 'express-session';
import helmet from 'helmet';
import { RedisStore as RedisRateLimitStore } from 'rate-limit-redis';
import type { createClient } from 'redis';
import {
  ALLOWED_ORIGIN,
  BENCH_RATE_LIMIT_PER_MINUTE,
  BENCH_SECRET,
  CSRF_HEADER,
  ITEMS,
  JSON_PATH,
  PAGE_PATH,
  POST_PATH,
  renderPage,
  SETUP_PATH,
} from '../routes.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
  }
}

/** Store of the Express stack's sessions and rate-limit counters. */
export type ExpressStores =
  | { kind: 'memory' }
  | { kind: 'redis'; client: ReturnType<typeof createClient>; prefix: string };

/**
 * Builds the stack a user would assemble on Express 5 instead of Harden: helmet, cors with an allowlist,
 * express-rate-limit, express-session and csrf-csrf (a double-submit token bound to the session),
 * each with the defaults its documentation shows.
 */
export function buildExpressServer(stores: ExpressStores): Server {
  const app = express();
  app.disable('x-powered-by');

  app.use(helmet());
  app.use(cors({ origin: [ALLOWED_ORIGIN], credentials: true }));
  app.use(
    rateLimit({
      windowMs: 60_000,
      limit: BENCH_RATE_LIMIT_PER_MINUTE,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      ...(stores.kind === 'redis'
        ? {
            store: new RedisRateLimitStore({
              prefix: `${stores.prefix}rl:`,
              sendCommand: (...args: string[]) => stores.client.sendCommand(args),
            }),
          }
        : {}),
    }),
  );
  app.use(cookieParser());
  app.use(
    session({
      secret: BENCH_SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax' },
      ...(stores.kind === 'redis'
        ? { store: new RedisSessionStore({ client: stores.client, prefix: `${stores.prefix}sess:` }) }
        : {}),
    }),
  );

  const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
    getSecret: () => BENCH_SECRET,
    getSessionIdentifier: (request) => request.session.id,
    cookieName: 'x-csrf-token',
    cookieOptions: { sameSite: 'lax', secure: false, httpOnly: true },
    getCsrfTokenFromRequest: (request) => request.headers[CSRF_HEADER],
  });
  app.use(express.json({ limit: '16kb' }));
  app.use(doubleCsrfProtection);

  app.get(SETUP_PATH, (request, response) => {
    request.session.user = 'bench';
    response.json({ csrfToken: generateCsrfToken(request, response) });
  });
  app.get(PAGE_PATH, (request, response) => {
    response.type('html').send(renderPage(request.session.user ?? 'guest', undefined));
  });
  app.get(JSON_PATH, (_request, response) => {
    response.json(ITEMS);
  });
  app.post(POST_PATH, (_request, response) => {
    response.json({ saved: true });
  });
  app.use(
    (error: Error & { status?: number }, _request: Request, response: Response, _next: NextFunction) => {
      response.status(error.status ?? 500).json({ error: error.message });
    },
  );

  return createServer(app);
}
