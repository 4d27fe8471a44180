import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { formField } from '../form-body.js';
import { signIn } from '../session.js';
import { checkEmail, checkNewPassword } from '../validation.js';
import { registerPage, sendPage } from '../views.js';

/**
 * A sign-up answers 409 for an address that has an account, so this limit bounds how fast one client
 * can test addresses (2,400 a day instead of the default limit's 432,000) and how many argon2id hashes
 * it can make the server compute.
 */
const REGISTER_CONFIG: FastifyContextConfig = {
  form: 'register',
  harden: { rateLimit: ['20/minute', '100/hour'] },
};

/** GET/POST /register: creates an account and signs it in. */
export async function registerRoutes(app: FastifyInstance, { db, hashPassword }: AppDeps): Promise<void> {
  app.get('/register', async (_request, reply) => sendPage(reply, registerPage(reply)));

  app.post('/register', { config: REGISTER_CONFIG }, async (request, reply) => {
    const typedEmail = formField(request.body, 'email');
    const email = checkEmail(typedEmail);
    const password = checkNewPassword(formField(request.body, 'password'));
    if (!email.ok || !password.ok) {
      let message = '';
      if (!email.ok) message = email.message;
      else if (!password.ok) message = password.message;
      return sendPage(reply.code(400), registerPage(reply, { message, email: typedEmail }));
    }

    const alreadyRegistered = () =>
      // NOTE: this tells a visitor that the address has an account. REGISTER_CONFIG's limit bounds how
      // fast it can be probed; hiding it would need an email round trip before every sign-up.
      sendPage(
        reply.code(409),
        registerPage(reply, {
          message:
            'This email address already has an account. Sign in, or reset the password if you forgot it.',
          email: typedEmail,
        }),
      );
    // Checked before hashing, so a probe of an existing address costs no argon2id hash.
    if (db.findUserByEmail(email.value)) return alreadyRegistered();
    // createUser still refuses a duplicate: two sign-ups for one address can both pass the check above.
    const user = db.createUser(email.value, await hashPassword(password.value));
    if (!user) return alreadyRegistered();

    await signIn(request, user);
    request.log.info({ event: 'account.created', userId: user.id }, 'account created');
    return reply.redirect('/notes', 303);
  });
}
