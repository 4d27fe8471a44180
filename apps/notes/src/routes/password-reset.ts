import { createHash, randomBytes } from 'node:crypto';
import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { formField } from '../form-body.js';
import { hashPassword } from '../passwords.js';
import { checkEmail, checkNewPassword } from '../validation.js';
import { messagePage, resetPasswordPage, resetRequestPage, sendPage } from '../views.js';

/** The reset forms: 10 posts a minute per client, besides the plugin's per-email reset-request count. */
const RESET_REQUEST_CONFIG: FastifyContextConfig = {
  form: 'password-reset',
  harden: { rateLimit: '10/minute' },
};
const RESET_CONFIRM_CONFIG: FastifyContextConfig = {
  form: 'password-reset-confirm',
  harden: { rateLimit: '10/minute' },
};

/** How long a reset link works: 30 minutes. */
export const RESET_TOKEN_TTL_MS = 30 * 60 * 1000;
/** Random bytes in a reset token (256 bits), sent as 43 base64url characters. */
const RESET_TOKEN_BYTES = 32;
const RESET_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The one answer to every reset request, so it never tells whether the address has an account. */
const REQUEST_ANSWER =
  'If an account exists for that address, we have sent it a link to choose a new password. The link works once, for 30 minutes.';
const INVALID_LINK = 'This reset link is invalid, already used or expired. Ask for a new one.';

interface TokenParams {
  token: string;
}

/** GET/POST /password-reset and GET/POST /password-reset/:token. */
export async function passwordResetRoutes(
  app: FastifyInstance,
  { db, mailer, config }: AppDeps,
): Promise<void> {
  app.get('/password-reset', async (_request, reply) => sendPage(reply, resetRequestPage(reply)));

  app.post('/password-reset', { config: RESET_REQUEST_CONFIG }, async (request, reply) => {
    const typedEmail = formField(request.body, 'email');
    const email = checkEmail(typedEmail);
    if (!email.ok)
      return sendPage(
        reply.code(400),
        resetRequestPage(reply, { message: email.message, email: typedEmail }),
      );

    // Counted per email and per client, apart from login failures, so a locked login never blocks a reset.
    // Past the per-email limit the answer stays the same and no mail goes out (attempt.sendMail).
    const attempt = await app.harden.bruteForce.passwordReset.check(request, email.value);
    if (!attempt.allowed) return attempt.reject(reply);

    const user = db.findUserByEmail(email.value);
    if (user && attempt.sendMail) {
      const token = randomBytes(RESET_TOKEN_BYTES).toString('base64url');
      db.createPasswordReset(hashToken(token), user.id, Date.now() + RESET_TOKEN_TTL_MS);
      const link = `${appOrigin(app, config)}/password-reset/${token}`;
      // Not awaited: the answer must not wait for the mail server, or its timing would reveal the account.
      mailer
        .send({
          to: user.email,
          subject: 'Reset your Notes password',
          text: `Someone asked to reset the password of your Notes account.\n\nOpen this link within 30 minutes to choose a new password:\n${link}\n\nIf it was not you, ignore this message: your password stays the same.`,
        })
        .catch((error: unknown) =>
          request.log.error({ event: 'mail.failed', err: error }, 'password-reset mail failed'),
        );
    }
    request.log.info(
      { event: 'password_reset.requested', knownAccount: user !== undefined },
      'password reset requested',
    );
    return sendPage(reply, resetRequestPage(reply, { notice: REQUEST_ANSWER }));
  });

  app.get<{ Params: TokenParams }>('/password-reset/:token', async (request, reply) => {
    const token = request.params.token;
    if (!RESET_TOKEN_PATTERN.test(token) || db.findValidPasswordReset(hashToken(token)) === undefined) {
      return sendPage(reply.code(400), messagePage(reply, 'Reset link not valid', INVALID_LINK, resetLink));
    }
    return sendPage(reply, resetPasswordPage(reply, token));
  });

  app.post<{ Params: TokenParams }>(
    '/password-reset/:token',
    { config: RESET_CONFIRM_CONFIG },
    async (request, reply) => {
      const token = request.params.token;
      const tokenHash = hashToken(token);
      if (!RESET_TOKEN_PATTERN.test(token) || db.findValidPasswordReset(tokenHash) === undefined) {
        return sendPage(reply.code(400), messagePage(reply, 'Reset link not valid', INVALID_LINK, resetLink));
      }
      const password = checkNewPassword(formField(request.body, 'password'));
      if (!password.ok)
        return sendPage(reply.code(400), resetPasswordPage(reply, token, { message: password.message }));

      // resetPassword checks the token again inside its transaction, so two submissions cannot both use it.
      const userId = db.resetPassword(tokenHash, await hashPassword(password.value));
      if (userId === undefined) {
        return sendPage(reply.code(400), messagePage(reply, 'Reset link not valid', INVALID_LINK, resetLink));
      }
      // The owner proved control of the mailbox, so failed logins by others no longer lock the account.
      const user = db.findUserById(userId);
      if (user) await app.harden.bruteForce.login.clearAccount(user.email);
      request.log.info(
        { event: 'password_reset.completed', userId },
        'password reset; older sessions revoked',
      );
      return sendPage(
        reply,
        messagePage(
          reply,
          'Password changed',
          'Your password was changed and every session was signed out.',
          {
            href: '/login',
            label: 'Sign in',
          },
        ),
      );
    },
  );
}

const resetLink = { href: '/password-reset', label: 'Ask for a new link' };

/** Stores tokens only as SHA-256 hashes, so a copy of the database cannot be used to reset passwords. */
function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The origin put in reset links: PUBLIC_ORIGIN, or else the address the server listens on. Never the
 * request's Host header, which a client chooses and could point at a server of its own.
 */
function appOrigin(app: FastifyInstance, config: AppDeps['config']): string {
  if (config.publicOrigin !== undefined) return config.publicOrigin;
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `${config.tls ? 'https' : 'http'}://${host}:${port}`;
}
