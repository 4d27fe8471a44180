import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { formField } from '../form-body.js';
import { hashPassword } from '../passwords.js';
import { signIn } from '../session.js';
import { checkEmail, checkNewPassword } from '../validation.js';
import { registerPage, sendPage } from '../views.js';

/** GET/POST /register: creates an account and signs it in. */
export async function registerRoutes(app: FastifyInstance, { db }: AppDeps): Promise<void> {
  app.get('/register', async (_request, reply) => sendPage(reply, registerPage(reply)));

  app.post('/register', { config: { form: 'register' } }, async (request, reply) => {
    const typedEmail = formField(request.body, 'email');
    const email = checkEmail(typedEmail);
    const password = checkNewPassword(formField(request.body, 'password'));
    if (!email.ok || !password.ok) {
      const message = !email.ok ? email.message : !password.ok ? password.message : '';
      return sendPage(reply.code(400), registerPage(reply, { message, email: typedEmail }));
    }

    const user = db.createUser(email.value, await hashPassword(password.value));
    if (!user) {
      // NOTE: this tells a visitor that the address has an account. Rate limits bound how fast it
      // can be probed; hiding it would need an email round trip before every sign-up.
      return sendPage(
        reply.code(409),
        registerPage(reply, {
          message:
            'This email address already has an account. Sign in, or reset the password if you forgot it.',
          email: typedEmail,
        }),
      );
    }

    await signIn(request, user);
    request.log.info({ event: 'account.created', userId: user.id }, 'account created');
    return reply.redirect('/notes', 303);
  });
}
