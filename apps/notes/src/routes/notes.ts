import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { formField } from '../form-body.js';
import { currentUser } from '../session.js';
import { checkNoteBody, parseId } from '../validation.js';
import { messagePage, notesPage, sendPage } from '../views.js';

/** GET/POST /notes and POST /notes/:id/delete: the signed-in user's notes, by HTML forms. */
export async function notesRoutes(app: FastifyInstance, { db }: AppDeps): Promise<void> {
  app.get('/', async (request, reply) =>
    reply.redirect((await currentUser(request, db)) ? '/notes' : '/login', 303),
  );

  app.get('/notes', async (request, reply) => {
    const user = await currentUser(request, db);
    if (!user) return reply.redirect('/login', 303);
    return sendPage(reply, notesPage(reply, user, db.listNotes(user.id)));
  });

  app.post('/notes', { config: { form: 'notes' } }, async (request, reply) => {
    const user = await currentUser(request, db);
    if (!user) return reply.redirect('/login', 303);

    const typedBody = formField(request.body, 'body');
    const body = checkNoteBody(typedBody);
    if (!body.ok) {
      return sendPage(
        reply.code(400),
        notesPage(reply, user, db.listNotes(user.id), { message: body.message, body: typedBody }),
      );
    }
    db.createNote(user.id, body.value);
    return reply.redirect('/notes', 303);
  });

  app.post<{ Params: { id: string } }>('/notes/:id/delete', async (request, reply) => {
    const user = await currentUser(request, db);
    if (!user) return reply.redirect('/login', 303);

    // Another user's note gets the same 404 as a missing one, so ids of other accounts reveal nothing.
    const id = parseId(request.params.id);
    if (id === undefined || !db.deleteNote(user.id, id)) {
      return sendPage(
        reply.code(404),
        messagePage(reply, 'Note not found', 'There is no such note in your account.', {
          href: '/notes',
          label: 'Back to your notes',
        }),
      );
    }
    return reply.redirect('/notes', 303);
  });
}
