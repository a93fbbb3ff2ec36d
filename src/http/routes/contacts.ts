import type { FastifyInstance } from 'fastify';
import { stringify } from 'csv-stringify/sync';
import type { AppContext } from '../app-context.ts';
import { undoTrigger } from '../../funnels/undo-trigger.ts';

const TAGS = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 100 } };
const P = { type: 'object', properties: { project: { type: 'string' } } };
const C = { type: 'object', properties: { project: { type: 'string' }, id: { type: 'integer', minimum: 1 } } };

/** A project's chatbot audience: contacts with their permanent tags, and the admin inbox. */
export function contactRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { project: string }; Querystring: { tag?: string; status?: 'active' | 'unsubscribed' | 'blocked'; limit?: number; after?: number; format?: 'json' | 'csv' } }>(
    '/api/v1/projects/:project/contacts',
    {
      schema: {
        tags: ['funnels'], summary: 'Contacts (one per person and platform across the project\'s bots), by tag or status; format=csv for a table', params: P,
        querystring: { type: 'object', additionalProperties: false, properties: {
          tag: { type: 'string' }, status: { enum: ['active', 'unsubscribed', 'blocked'] },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, after: { type: 'integer', minimum: 0 },
          format: { enum: ['json', 'csv'] },
        } },
      },
    },
    async (req, reply) => {
      const contacts = await ctx.projects.get(req.params.project).store.contacts.listContacts({
        tag: req.query.tag, status: req.query.status, limit: req.query.limit ?? 100, afterId: req.query.after,
      });
      if (req.query.format !== 'csv') return { contacts };
      // Pages by `after` (the last id) as the JSON does; tags and variables in one cell each.
      return reply.type('text/csv; charset=utf-8').send(stringify([
        ['id', 'platform', 'user_id', 'name', 'username', 'status', 'tags', 'bots', 'variables', 'created_at'],
        ...contacts.map((c) => [c.id, c.platform, c.userId, c.name ?? '', c.username ?? '', c.status, c.tags.join(' '),
          c.bots.map((b) => `${b.connection}:${b.status}`).join(' '), JSON.stringify(c.vars), new Date(c.createdAt).toISOString()]),
      ]));
    },
  );

  app.get<{ Params: { project: string; id: number } }>(
    '/api/v1/projects/:project/contacts/:id',
    { schema: { tags: ['funnels'], summary: 'A contact: tags, variables, bots and status, and the funnels they are in', params: C } },
    async (req, reply) => {
      const store = ctx.projects.get(req.params.project).store.contacts;
      const contact = await store.getContact(req.params.id);
      if (!contact) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `contact ${req.params.id} not found` });
      return { contact, funnels: await store.liveTasksOf(contact.id) };
    },
  );

  app.post<{ Params: { project: string; id: number }; Body: { add?: string[]; remove?: string[] } }>(
    '/api/v1/projects/:project/contacts/:id/tags',
    {
      schema: {
        tags: ['funnels'], summary: 'Add or remove tags by hand (e.g. undo a manager\'s wrong trigger)', params: C,
        body: { type: 'object', additionalProperties: false, properties: { add: TAGS, remove: TAGS } },
      },
    },
    async (req, reply) => {
      const store = ctx.projects.get(req.params.project).store.contacts;
      if (!(await store.getContact(req.params.id))) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `contact ${req.params.id} not found` });
      if (req.body.remove?.length) await store.removeTags(req.params.id, req.body.remove);
      const tags = req.body.add?.length ? await store.addTags(req.params.id, req.body.add, Date.now()) : (await store.getContact(req.params.id))!.tags;
      return { tags };
    },
  );

  app.get<{ Params: { project: string }; Querystring: { limit?: number; format?: 'json' | 'csv' } }>(
    '/api/v1/projects/:project/admin-inbox',
    {
      schema: {
        tags: ['funnels'], summary: 'Admin notes: refused duplicate triggers, send errors, stuck people, notes from funnels (newest first); format=csv for a table', params: P,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, format: { enum: ['json', 'csv'] } } },
      },
    },
    async (req, reply) => {
      const notes = await ctx.projects.get(req.params.project).store.contacts.listAdminNotes(req.query.limit ?? 100);
      if (req.query.format !== 'csv') return { notes };
      return reply.type('text/csv; charset=utf-8').send(stringify([
        ['id', 'at', 'kind', 'contact_id', 'text'], ...notes.map((n) => [n.id, new Date(n.at).toISOString(), n.kind, n.contactId ?? '', n.text]),
      ]));
    },
  );

  app.post<{ Params: { project: string; id: number } }>(
    '/api/v1/projects/:project/tasks/:id/undo-trigger',
    { schema: { tags: ['funnels'], summary: 'Undo a wrong trigger: cancel its funnel, clear the tags it set, put the stopped funnels back where they were', params: C } },
    async (req) => undoTrigger(ctx.projects.get(req.params.project), req.params.id),
  );
}
