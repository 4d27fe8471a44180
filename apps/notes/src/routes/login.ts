import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { formField } from '../form-body.js';
import { verifyPassword } from '../passwords.js';
import { signIn, signOut } from '../session.js';
import { checkEmail, checkLoginPassword } from '../validation.js';
import { loginPage, sendPage } from '../views.js';

/** The one message for every failed login, so it never tells which of email or password was wrong. */
const LOGIN_FAILED = 'Email or password is incorrect.';

/** The login form route: 10 posts a minute per client, besides the plugin's failed-login counts. */
const LOGIN_CONFIG: FastifyContextConfig = { form: 'login', harden: { rateLimit: '10/minute' } };

/** GET/POST /login and POST /logout. */
export async function loginRoutes(app: FastifyInstance, { db }: AppDeps): Promise<void> {
  app.get('/login', async (_request, reply) => sendPage(reply, loginPage(reply)));

  app.post('/login', { config: LOGIN_CONFIG }, async (request, reply) => {
    const typedEmail = formField(request.body, 'email');
    const email = checkEmail(typedEmail);
    const password = checkLoginPassword(formField(request.body, 'password'));
    if (!email.ok || !password.ok) {
      const message = !email.ok ? email.message : !password.ok ? password.message : '';
      return sendPage(reply.code(400), loginPage(reply, { message, email: typedEmail }));
    }

    // Counted per account and per client before the password is verified. A blocked attempt gets 429
    // and the form again through the app's onRejection.
    const attempt = await app.harden.bruteForce.login.check(request, email.value);
    if (!attempt.allowed) return attempt.reject(reply);

    // An unknown email is checked against a dummy hash, so it takes as long as a wrong password.
    const user = db.findUserByEmail(email.value);
    const valid = await verifyPassword(user?.passwordHash, password.value);
    if (!user || !valid) {
      attempt.recordFailure();
      request.log.info({ event: 'login.failed', knownAccount: user !== undefined }, 'login failed');
      return sendPage(reply.code(401), loginPage(reply, { message: LOGIN_FAILED, email: typedEmail }));
    }

    await attempt.recordSuccess();
    await signIn(request, user);
    request.log.info({ event: 'login.succeeded', userId: user.id }, 'signed in');
    return reply.redirect('/notes', 303);
  });

  app.post('/logout', async (request, reply) => {
    await signOut(request);
    return reply.redirect('/login', 303);
  });
}
