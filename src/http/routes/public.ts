import type { FastifyInstance } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { TaskError } from '../../engine/project-engine.ts';
import type { AppContext } from '../app-context.ts';
import { CREATE_BODY, createFromBody } from './task-input.ts';

/**
 * Unauthenticated entry points: per-process create URLs whose secret is in the path (ours, and
 * Corezoid's shape so a site that posts to Corezoid switches by changing the host), and task callbacks.
 */
export function publicRoutes(app: FastifyInstance, ctx: AppContext): void {
  const resolve = async (publicId: string, secret: string) => {
    const hit = ctx.projects.byPublicId(publicId);
    const access = hit && (await hit.engine.store.getPublicAccess(hit.process));
    if (!hit || !access || !sameSecret(access.secret, secret)) throw new TaskError(404, 'no process at this public URL');
    return hit;
  };

  app.post<{ Params: { publicId: string; secret: string }; Body: Parameters<typeof createFromBody>[2] }>(
    '/public/v1/:publicId/:secret',
    { bodyLimit: 1024 * 1024, schema: { tags: ['public'], summary: 'Create a task without an API key (the secret is the path)', body: CREATE_BODY } },
    async (req, reply) => {
      const { engine, process } = await resolve(req.params.publicId, req.params.secret);
      const { status, payload } = await createFromBody(engine, process, req.body);
      return reply.code(status).send(payload);
    },
  );

  app.post<{ Params: { publicId: string; secret: string }; Body: any }>(
    '/api/1/json/public/:publicId/:secret',
    { bodyLimit: 1024 * 1024, schema: { tags: ['public'], summary: 'Corezoid-compatible public create: {"ops":[{"type":"create","obj":"task","ref","data"}]}' } },
    async (req) => {
      const { engine, process } = await resolve(req.params.publicId, req.params.secret);
      const ops = (req.body as { ops?: unknown })?.ops;
      if (!Array.isArray(ops) || ops.length === 0) {
        return { request_proc: 'error', description: 'ops: expected a non-empty list of operations', ops: [] };
      }
      const answers: unknown[] = [];
      const creates: Array<{ index: number; ref: string | null; data: Record<string, unknown> }> = [];
      ops.forEach((op: any, index) => {
        const bad = corezoidOpError(op);
        answers.push(bad ? { id: '', proc: 'error', obj: 'task', ref: op?.ref ?? null, description: bad } : null);
        if (!bad) creates.push({ index, ref: op.ref === undefined || op.ref === null ? null : String(op.ref), data: op.data ?? {} });
      });
      const results = creates.length ? await engine.createTasks(process, creates.map(({ ref, data }) => ({ ref, data }))) : [];
      results.forEach((r, i) => {
        const { index, ref } = creates[i];
        answers[index] = r.created
          ? { id: '', proc: 'ok', obj: 'task', ref, obj_id: String(r.id) }
          : { id: '', proc: 'not_unical_ref', obj: 'task', ref, obj_id: String(r.id), description: 'not unical reference' };
      });
      return { request_proc: 'ok', ops: answers };
    },
  );

  app.post<{ Params: { project: string; taskId: number; token: string }; Body: any }>(
    '/callbacks/:project/:taskId/:token',
    {
      schema: {
        tags: ['public'],
        summary: 'Resume a task waiting in a wait node with the posted JSON (URL from {{$task.callback_url}})',
        params: { type: 'object', properties: { project: { type: 'string' }, taskId: { type: 'integer' }, token: { type: 'string' } } },
      },
    },
    async (req) => {
      const engine = ctx.projects.get(req.params.project);
      const wait = engine.verifyCallbackToken(req.params.taskId, req.params.token);
      if (wait === null) throw new TaskError(404, 'no task at this callback URL');
      const body = req.body === undefined || req.body === null ? {} : req.body;
      if (typeof body !== 'object' || Array.isArray(body)) throw new TaskError(400, 'body: must be a JSON object');
      const state = await engine.deliverCallback(req.params.taskId, body as Record<string, unknown>, wait === 'any' ? undefined : wait);
      return { ok: true, state };
    },
  );
}

function corezoidOpError(op: any): string | null {
  if (!op || typeof op !== 'object') return 'op: must be an object';
  if (op.type !== 'create' || op.obj !== 'task') return `type/obj: only {"type":"create","obj":"task"} is supported, got ${op.type}/${op.obj}`;
  if (op.data !== undefined && (typeof op.data !== 'object' || op.data === null || Array.isArray(op.data))) return 'data: must be an object';
  if (op.ref !== undefined && op.ref !== null && typeof op.ref !== 'string' && typeof op.ref !== 'number') return 'ref: must be a string';
  if (typeof op.ref === 'string' && op.ref.length > 255) return 'ref: longer than 255 characters';
  return null;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
