import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { csrfToken } from '../csrf-token.js';
import type { Note, User } from '../db.js';
import type { AppDeps } from '../deps.js';
import { currentUser } from '../session.js';
import { checkNoteBody, parseId } from '../validation.js';

/** GET /api/me, GET/POST /api/notes and DELETE /api/notes/:id: JSON for a front end, by cookie session. */
export async function apiRoutes(app: FastifyInstance, { db }: AppDeps): Promise<void> {
  /** Returns the signed-in user, or sends a 401 problem and returns undefined. */
  async function requireUser(request: FastifyRequest, reply: FastifyReply): Promise<User | undefined> {
    const user = await currentUser(request, db);
    if (!user) sendProblem(reply, 401, 'Unauthorized', 'Sign in first.');
    return user;
  }

  app.get('/api/me', async (request, reply) => {
    const user = await requireUser(request, reply);
    if (!user) return reply;
    // The token goes into the x-csrf-token header of the front end's POST and DELETE requests.
    return reply
      .header('cache-control', 'no-store')
      .send({ id: user.id, email: user.email, csrfToken: csrfToken(reply) });
  });

  app.get('/api/notes', async (request, reply) => {
    const user = await requireUser(request, reply);
    if (!user) return reply;
    return reply.header('cache-control', 'no-store').send({ notes: db.listNotes(user.id).map(noteJson) });
  });

  app.post('/api/notes', async (request, reply) => {
    const user = await requireUser(request, reply);
    if (!user) return reply;
    const fields =
      typeof request.body === 'object' && request.body !== null
        ? (request.body as Record<string, unknown>)
        : {};
    const body = checkNoteBody(Object.hasOwn(fields, 'body') ? fields.body : undefined);
    if (!body.ok) return sendProblem(reply, 400, 'Bad Request', body.message);
    return reply.code(201).send(noteJson(db.createNote(user.id, body.value)));
  });

  app.delete<{ Params: { id: string } }>('/api/notes/:id', async (request, reply) => {
    const user = await requireUser(request, reply);
    if (!user) return reply;
    // Another user's note gets the same 404 as a missing one.
    const id = parseId(request.params.id);
    if (id === undefined || !db.deleteNote(user.id, id))
      return sendProblem(reply, 404, 'Not Found', 'There is no such note in your account.');
    return reply.code(204).send();
  });
}

/** Sends an RFC 9457 problem document. */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  title: string,
  detail: string,
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, detail });
}

function noteJson(note: Note): { id: number; body: string; createdAt: string } {
  return { id: note.id, body: note.body, createdAt: new Date(note.createdAt).toISOString() };
}
