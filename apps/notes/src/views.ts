import type { FastifyReply } from 'fastify';
import { formCsrfToken } from './csrf-token.js';
import type { Note, User } from './db.js';
import { type HtmlValue, html, raw, type SafeHtml } from './html.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.js';
import { EMAIL_MAX_LENGTH, NOTE_MAX_LENGTH } from './validation.js';

/** Form content shown again after a rejection: a message and the fields the user typed (never passwords). */
export interface FormState {
  message?: string;
  /** A notice that is not an error, such as "check your mail". */
  notice?: string;
  email?: string;
  body?: string;
}

const STYLES = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
header { display: flex; justify-content: space-between; align-items: center; border-bottom: 1px solid #ddd; margin-bottom: 1.5rem; }
label { display: block; margin-top: 0.75rem; }
input[type=email], input[type=password], textarea { width: 100%; box-sizing: border-box; padding: 0.4rem; font: inherit; }
button { margin-top: 0.75rem; padding: 0.4rem 1rem; font: inherit; cursor: pointer; }
.inline { display: inline; }
.error { background: #fdecea; border: 1px solid #f5c2c0; padding: 0.5rem 0.75rem; }
.notice { background: #e8f4fd; border: 1px solid #b6dcf7; padding: 0.5rem 0.75rem; }
.note { border: 1px solid #ddd; padding: 0.5rem 0.75rem; margin: 0.75rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.meta { color: #666; font-size: 0.85rem; }
`;

// Counts the characters of the note being typed. It is here to show that a nonce'd script runs under
// the CSP and that the page needs no inline event handler.
const SCRIPT = `
for (const area of document.querySelectorAll('textarea[data-counter]')) {
  const counter = document.getElementById(area.dataset.counter);
  const update = () => { counter.textContent = area.value.length + ' / ' + area.maxLength; };
  area.addEventListener('input', update);
  update();
}
`;

/** Sends an HTML page with the status already set on the reply. Pages are never cached: they hold tokens. */
export function sendPage(reply: FastifyReply, page: SafeHtml): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page.value);
}

function layout(reply: FastifyReply, title: string, user: User | undefined, content: HtmlValue): SafeHtml {
  // Reading reply.cspNonce is what makes @harden/fastify put this nonce into the response's CSP.
  const nonce = reply.cspNonce;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Notes</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style nonce="${nonce}">${raw(STYLES)}</style>
</head>
<body>
<header><h1>Notes</h1>${user ? signedInBar(reply, user) : ''}</header>
<main>
<h2>${title}</h2>
${content}
</main>
<script nonce="${nonce}">${raw(SCRIPT)}</script>
</body>
</html>
`;
}

function signedInBar(reply: FastifyReply, user: User): SafeHtml {
  return html`<form class="inline" method="post" action="/logout">
<span class="meta">${user.email}</span>
${csrfField(reply)}
<button type="submit">Sign out</button>
</form>`;
}

function csrfField(reply: FastifyReply): SafeHtml {
  const token = formCsrfToken(reply);
  return token === undefined ? html`` : html`<input type="hidden" name="_csrf" value="${token}">`;
}

function messages(state: FormState): SafeHtml {
  return html`${state.message ? html`<p class="error" role="alert">${state.message}</p>` : ''}${
    state.notice ? html`<p class="notice" role="status">${state.notice}</p>` : ''
  }`;
}

function emailField(value: string | undefined): SafeHtml {
  return html`<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="${EMAIL_MAX_LENGTH}" value="${value ?? ''}">`;
}

function passwordField(autocomplete: 'current-password' | 'new-password'): SafeHtml {
  const min = autocomplete === 'new-password' ? PASSWORD_MIN_LENGTH : 1;
  return html`<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="${autocomplete}" required minlength="${min}" maxlength="${PASSWORD_MAX_LENGTH}">`;
}

export function registerPage(reply: FastifyReply, state: FormState = {}): SafeHtml {
  return layout(
    reply,
    'Create an account',
    undefined,
    html`${messages(state)}
<form method="post" action="/register">
${csrfField(reply)}
${emailField(state.email)}
${passwordField('new-password')}
<p class="meta">${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.</p>
<button type="submit">Create account</button>
</form>
<p>Already registered? <a href="/login">Sign in</a>.</p>`,
  );
}

export function loginPage(reply: FastifyReply, state: FormState = {}): SafeHtml {
  return layout(
    reply,
    'Sign in',
    undefined,
    html`${messages(state)}
<form method="post" action="/login">
${csrfField(reply)}
${emailField(state.email)}
${passwordField('current-password')}
<button type="submit">Sign in</button>
</form>
<p><a href="/register">Create an account</a> · <a href="/password-reset">Forgot your password?</a></p>`,
  );
}

export function resetRequestPage(reply: FastifyReply, state: FormState = {}): SafeHtml {
  return layout(
    reply,
    'Reset your password',
    undefined,
    html`${messages(state)}
<form method="post" action="/password-reset">
${csrfField(reply)}
${emailField(state.email)}
<button type="submit">Send a reset link</button>
</form>
<p><a href="/login">Back to sign in</a></p>`,
  );
}

export function resetPasswordPage(reply: FastifyReply, token: string, state: FormState = {}): SafeHtml {
  return layout(
    reply,
    'Choose a new password',
    undefined,
    html`${messages(state)}
<form method="post" action="/password-reset/${encodeURIComponent(token)}">
${csrfField(reply)}
${passwordField('new-password')}
<p class="meta">${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters. Every other signed-in session will be signed out.</p>
<button type="submit">Set password</button>
</form>`,
  );
}

/** Renders the note form alone, for a rejection that came before the session (and so the user) was known. */
export function noteFormPage(reply: FastifyReply, state: FormState = {}): SafeHtml {
  return layout(
    reply,
    'Your notes',
    undefined,
    html`${messages(state)}
${noteForm(reply, state)}
<p><a href="/notes">Back to your notes</a></p>`,
  );
}

function noteForm(reply: FastifyReply, state: FormState): SafeHtml {
  return html`<form method="post" action="/notes">
${csrfField(reply)}
<label for="body">New note</label>
<textarea id="body" name="body" rows="4" required maxlength="${NOTE_MAX_LENGTH}" data-counter="body-count">${state.body ?? ''}</textarea>
<span id="body-count" class="meta"></span>
<button type="submit">Save note</button>
</form>`;
}

export function notesPage(
  reply: FastifyReply,
  user: User,
  notes: readonly Note[],
  state: FormState = {},
): SafeHtml {
  return layout(
    reply,
    'Your notes',
    user,
    html`${messages(state)}
${noteForm(reply, state)}
<section aria-label="Notes">
${notes.length === 0 ? html`<p class="meta">No notes yet.</p>` : notes.map((note) => noteItem(reply, note))}
</section>`,
  );
}

function noteItem(reply: FastifyReply, note: Note): SafeHtml {
  return html`<article class="note" id="note-${note.id}">
<div>${note.body}</div>
<form class="inline" method="post" action="/notes/${note.id}/delete">
${csrfField(reply)}
<span class="meta">${new Date(note.createdAt).toISOString()}</span>
<button type="submit">Delete</button>
</form>
</article>`;
}

/** Renders a page with a title and one paragraph, for errors and confirmations. */
export function messagePage(
  reply: FastifyReply,
  title: string,
  text: string,
  link?: { href: string; label: string },
): SafeHtml {
  return layout(
    reply,
    title,
    undefined,
    html`<p>${text}</p>${link ? html`<p><a href="${link.href}">${link.label}</a></p>` : ''}`,
  );
}
