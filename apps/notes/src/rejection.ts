import type { Rejection, RejectionHandler } from '@harden/fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { omitCsrfToken } from './csrf-token.js';
import type { NotesDatabase } from './db.js';
import { currentUser, hasSessionCookie, hasStoredSession, isSessionLoaded } from './session.js';
import {
  type FormState,
  loginPage,
  noteFormPage,
  notesPage,
  registerPage,
  resetPasswordPage,
  resetRequestPage,
  sendPage,
} from './views.js';

/** The HTML forms the app can show again after a rejection, named in a route's `config.form`. */
export type FormName = 'register' | 'login' | 'password-reset' | 'password-reset-confirm' | 'notes';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Marks an HTML form route: a rejected submission shows this form again with what the user typed. */
    form?: FormName;
  }
}

/** Added to the message when the form comes back without a token although the browser sent a session cookie. */
export const RELOAD_HINT = 'Reload the page before you try again.';

/**
 * Renders a form again, with the reply's status kept (400, 403 or 429), a message and the fields the
 * user typed. Passwords are never put back. Returns false when the route has no form to show.
 *
 * The form gets a CSRF token only when the request's session was loaded from the store. A request
 * rejected before its session was loaded, or one whose cookie named no stored session (made up, wrongly
 * signed or expired), gets the form without a token, so rendering it stores no session.
 */
export async function renderFormAgain(
  request: FastifyRequest,
  reply: FastifyReply,
  db: NotesDatabase,
  message: string,
): Promise<boolean> {
  const form = request.routeOptions.config.form;
  if (form === undefined) return false;

  const withToken = hasStoredSession(request);
  if (!withToken) omitCsrfToken(reply);
  // Without a session cookie the next submission needs no token. With one it needs a token that this
  // page lacks, so the message adds RELOAD_HINT.
  const shownMessage = !withToken && hasSessionCookie(request) ? `${message} ${RELOAD_HINT}` : message;
  const fields = typedFields(request.body);
  const state: FormState = { message: shownMessage, email: fields.email, body: fields.body };
  switch (form) {
    case 'register':
      sendPage(reply, registerPage(reply, state));
      return true;
    case 'login':
      sendPage(reply, loginPage(reply, state));
      return true;
    case 'password-reset':
      sendPage(reply, resetRequestPage(reply, state));
      return true;
    case 'password-reset-confirm': {
      const token = (request.params as { token?: string } | undefined)?.token ?? '';
      sendPage(reply, resetPasswordPage(reply, token, state));
      return true;
    }
    case 'notes': {
      // Before the session is loaded the user is unknown, so the note form comes back without the list.
      if (!isSessionLoaded(request)) {
        sendPage(reply, noteFormPage(reply, state));
        return true;
      }
      const user = await currentUser(request, db);
      if (!user) return false;
      sendPage(reply, notesPage(reply, user, db.listNotes(user.id), state));
      return true;
    }
  }
}

/** The `onRejection` handler given to @harden/fastify: form routes show their form again. */
export function createRejectionHandler(db: NotesDatabase): RejectionHandler {
  return (rejection, request, reply) => renderFormAgain(request, reply, db, rejectionMessage(rejection));
}

/** The user-facing message of a rejection, with how long to wait when a rate limit was hit. */
export function rejectionMessage(rejection: Rejection): string {
  if (rejection.status !== 429) return rejection.message;
  const seconds = retryAfterSeconds(rejection);
  if (seconds === undefined) return rejection.message;
  const wait =
    seconds < 90 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${Math.ceil(seconds / 60)} minutes`;
  return `${rejection.message} Try again in ${wait}.`;
}

function retryAfterSeconds(rejection: Rejection): number | undefined {
  const fromDetails = rejection.details?.retryAfterSeconds;
  if (typeof fromDetails === 'number' && Number.isFinite(fromDetails))
    return Math.max(1, Math.ceil(fromDetails));
  const header = Object.entries(rejection.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'retry-after',
  )?.[1];
  if (header !== undefined && /^\d+$/.test(header)) return Math.max(1, Number(header));
  return undefined;
}

/** Reads the email and note fields of a parsed form body, ignoring anything that is not a string. */
function typedFields(body: unknown): { email?: string; body?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  return {
    email: typeof record.email === 'string' ? record.email : undefined,
    body: typeof record.body === 'string' ? record.body : undefined,
  };
}
