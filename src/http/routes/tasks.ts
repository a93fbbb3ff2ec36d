import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app-context.ts';
import { historyJson, taskJson, TASK_SCHEMA } from '../task-json.ts';
import { CREATE_BODY, CREATE_RESULT, createFromBody } from './task-input.ts';

const P = { type: 'object', properties: { project: { type: 'string' }, process: { type: 'string' } } };
const T = { type: 'object', properties: { project: { type: 'string' }, id: { type: 'integer', minimum: 1 } } };

export function taskRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Params: { project: string; process: string }; Body: Parameters<typeof createFromBody>[2] }>(
    '/api/v1/projects/:project/processes/:process/tasks',
    {
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags: ['tasks'],
        summary: 'Create a task (object body) or many in one transaction (array body)',
        description: 'While a task with the same ref is alive in the process, the existing one is returned (200, created: false).',
        params: P,
        body: CREATE_BODY,
        response: { 200: { oneOf: [CREATE_RESULT, { type: 'array', items: CREATE_RESULT }] }, 201: { oneOf: [CREATE_RESULT, { type: 'array', items: CREATE_RESULT }] } },
      },
    },
    async (req, reply) => {
      const engine = ctx.projects.get(req.params.project);
      const { status, payload } = await createFromBody(engine, req.params.process, req.body);
      return reply.code(status).send(payload);
    },
  );

  app.get<{ Params: { project: string; process: string } }>(
    '/api/v1/projects/:project/processes/:process/stats',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Tasks per node (ended tasks keep counting at their final/error node for the retention period)',
        params: P,
        response: { 200: { type: 'object', properties: { nodes: { type: 'object', additionalProperties: { type: 'integer' } }, statuses: { type: 'object', additionalProperties: { type: 'integer' } } } } },
      },
    },
    async (req) => {
      const engine = ctx.projects.get(req.params.project);
      const nodes = await engine.stats(req.params.process);
      return { nodes, statuses: await engine.store.countByStatus(req.params.process) };
    },
  );

  app.get<{ Params: { project: string; process: string }; Querystring: { node?: string; status?: any; limit?: number } }>(
    '/api/v1/projects/:project/processes/:process/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'List tasks of a process, newest first',
        params: P,
        querystring: {
          type: 'object',
          properties: {
            node: { type: 'string' },
            status: { type: 'string', enum: ['active', 'sleeping', 'waiting', 'failed', 'done', 'error', 'cancelled'] },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
          },
        },
        response: { 200: { type: 'object', properties: { tasks: { type: 'array', items: TASK_SCHEMA } } } },
      },
    },
    async (req) => {
      const engine = ctx.projects.get(req.params.project);
      const tasks = await engine.store.listTasks({ process: req.params.process, node: req.query.node, status: req.query.status, limit: req.query.limit ?? 50 });
      return { tasks: tasks.map(taskJson) };
    },
  );

  app.get<{ Params: { project: string; id: number }; Querystring: { history?: number } }>(
    '/api/v1/projects/:project/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'A task with its history (latest entries)',
        params: T,
        querystring: { type: 'object', properties: { history: { type: 'integer', minimum: 0, maximum: 10000, default: 200 } } },
      },
    },
    async (req) => {
      const engine = ctx.projects.get(req.params.project);
      const task = await engine.store.getTask(req.params.id);
      if (!task) return notFound(req.params.id, req.params.project);
      const history = await engine.history(task, req.query.history ?? 200);
      return { task: taskJson(task), history: history.map(historyJson) };
    },
  );

  const handOp = (path: string, summary: string, run: (engine: ReturnType<AppContext['projects']['get']>, id: number, body: any) => Promise<any>, body?: object) =>
    app.post<{ Params: { project: string; id: number }; Body: any }>(
      `/api/v1/projects/:project/tasks/:id/${path}`,
      { schema: { tags: ['tasks'], summary, params: T, ...(body && { body }) } },
      async (req) => ({ task: taskJson(await run(ctx.projects.get(req.params.project), req.params.id, req.body)) }),
    );
  handOp('move', 'Move a task to any node of its process (it runs from there)', (e, id, b) => e.move(id, b.node), {
    type: 'object', required: ['node'], additionalProperties: false, properties: { node: { type: 'string', minLength: 1 } },
  });
  handOp('requeue', 'Run a failed task again at the node where it failed', (e, id) => e.requeue(id));
  handOp('cancel', 'Cancel a live task', (e, id) => e.cancel(id));
}

function notFound(id: number, project: string): never {
  throw Object.assign(new Error(`task ${id} not found in project "${project}"`), { statusCode: 404 });
}
