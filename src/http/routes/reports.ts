import type { FastifyInstance } from 'fastify';
import { stringify } from 'csv-stringify/sync';
import { DateTime } from 'luxon';
import { parseDuration } from '../../util/duration.ts';
import type { AppContext } from '../app-context.ts';

/**
 * Funnel statistics and the daily report as the seed's team keeps it by hand: per step people now,
 * passed and errors, stuck people (with a bulk move), and per day entered / active / inactive,
 * milestone tags, bought, messages sent against the monthly limit; per week new contacts and those
 * who unsubscribed or blocked. `format=csv` on each table.
 */
export function reportRoutes(app: FastifyInstance, ctx: AppContext): void {
  const csv = (rows: unknown[][]) => stringify(rows);

  app.get<{ Params: { project: string; process: string }; Querystring: { stuck_after?: string; format?: 'json' | 'csv' } }>(
    '/api/v1/projects/:project/processes/:process/funnel-stats',
    {
      schema: {
        tags: ['funnels'], summary: 'Per step: people now, passed, errors; and people stuck on a step longer than stuck_after (default 1d)',
        querystring: { type: 'object', additionalProperties: false, properties: { stuck_after: { type: 'string' }, format: { enum: ['json', 'csv'] } } },
      },
    },
    async (req, reply) => {
      const engine = ctx.projects.get(req.params.project);
      const now = await engine.stats(req.params.process); // 404 for an unknown process
      let stuckMs: number;
      try {
        stuckMs = parseDuration(req.query.stuck_after ?? '1d');
      } catch (e) {
        return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `stuck_after: ${(e as Error).message}` });
      }
      const flow = await engine.store.nodeFlow(req.params.process);
      // Live people per step (the dashboard's stats also count ended tasks where they ended).
      const steps = Object.keys(now).map((node) => ({ node, now: flow[node]?.now ?? 0, passed: flow[node]?.passed ?? 0, errors: flow[node]?.errors ?? 0 }));
      const stuck = (await engine.store.stuckTasks(req.params.process, Date.now() - stuckMs, 1000)).map((t) => ({
        task: t.id, node: t.nodeId, status: t.status, since: new Date(t.updatedAt).toISOString(), contact_id: t.data.contact_id ?? null, name: t.data.name ?? null,
      }));
      if (req.query.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').send(csv([['node', 'now', 'passed', 'errors'], ...steps.map((s) => [s.node, s.now, s.passed, s.errors])]));
      }
      return { steps, stuck };
    },
  );

  app.post<{ Params: { project: string; process: string }; Body: { tasks: number[]; to: string } }>(
    '/api/v1/projects/:project/processes/:process/move-tasks',
    {
      schema: {
        tags: ['funnels'], summary: 'Move many tasks (e.g. the stuck ones) to a step',
        body: { type: 'object', required: ['tasks', 'to'], additionalProperties: false, properties: {
          tasks: { type: 'array', minItems: 1, maxItems: 10000, items: { type: 'integer', minimum: 1 } }, to: { type: 'string', minLength: 1 },
        } },
      },
    },
    async (req) => {
      const engine = ctx.projects.get(req.params.project);
      const moved: number[] = [];
      const refused: Array<{ task: number; reason: string }> = [];
      for (const id of req.body.tasks) {
        try {
          const t = await engine.store.getTask(id);
          if (!t || t.process !== req.params.process) throw new Error(`task ${id} is not in process ${req.params.process}`);
          await engine.move(id, req.body.to);
          moved.push(id);
        } catch (e) {
          refused.push({ task: id, reason: (e as Error).message });
        }
      }
      return { moved, refused };
    },
  );

  app.get<{ Params: { project: string }; Querystring: { date?: string; timezone?: string; milestones?: string; bought?: string; format?: 'json' | 'csv' } }>(
    '/api/v1/projects/:project/reports/daily',
    {
      schema: {
        tags: ['funnels'], summary: 'The day\'s report: entered, active, inactive, milestone tags, bought, messages sent per funnel and the monthly limit forecast',
        querystring: { type: 'object', additionalProperties: false, properties: {
          date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' }, timezone: { type: 'string' }, milestones: { type: 'string', description: 'Comma-separated tags.' },
          bought: { type: 'string', description: 'The tag that means bought (default "bought").' }, format: { enum: ['json', 'csv'] },
        } },
      },
    },
    async (req, reply) => {
      const engine = ctx.projects.get(req.params.project);
      const config = engine.getConfig();
      const zone = req.query.timezone ?? (config.timezone as string | undefined) ?? 'Europe/Moscow';
      const day = req.query.date ? DateTime.fromISO(req.query.date, { zone }) : DateTime.now().setZone(zone).startOf('day');
      if (!day.isValid) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `date/timezone: ${day.invalidExplanation ?? 'invalid'}` });
      const from = day.startOf('day');
      const to = from.plus({ days: 1 });
      const milestones = (req.query.milestones ?? String(config.report_milestones ?? '')).split(',').map((t) => t.trim()).filter(Boolean);
      const figures = await engine.store.contacts.dailyFigures(from.toMillis(), to.toMillis(), milestones, req.query.bought ?? 'bought');
      const sentToday = await engine.store.contacts.messagesSent(from.toMillis(), to.toMillis());
      const month = from.startOf('month');
      const sentMonth = Object.values(await engine.store.contacts.messagesSent(month.toMillis(), to.toMillis())).reduce((a, b) => a + b, 0);
      const limit = typeof config.message_limit_monthly === 'number' ? config.message_limit_monthly : null;
      const forecast = Math.round((sentMonth / to.diff(month, 'days').days) * month.daysInMonth!);
      const report = {
        date: from.toISODate(), timezone: zone, ...figures, messages: { today: sentToday, month: sentMonth, limit, forecast, over_limit: limit !== null && forecast > limit },
      };
      if (req.query.format === 'csv') {
        const rows: unknown[][] = [['figure', 'value'], ['date', report.date], ['entered', report.entered], ['active', report.active], ['inactive', report.inactive],
          ...Object.entries(report.milestones).map(([t, n]) => [`tag ${t}`, n]), ['bought among new', report.boughtAmongNew], ['bought total', report.boughtTotal],
          ...Object.entries(sentToday).map(([p, n]) => [`messages ${p}`, n]), ['messages this month', sentMonth], ['monthly limit', limit ?? ''], ['month forecast', forecast]];
        return reply.type('text/csv; charset=utf-8').send(csv(rows));
      }
      return report;
    },
  );

  app.get<{ Params: { project: string }; Querystring: { weeks?: number; timezone?: string; format?: 'json' | 'csv' } }>(
    '/api/v1/projects/:project/reports/weekly',
    {
      schema: {
        tags: ['funnels'], summary: 'Per ISO week (Monday to Monday in the project\'s time zone), oldest first: new contacts, and contacts that unsubscribed or blocked the bot',
        querystring: { type: 'object', additionalProperties: false, properties: {
          weeks: { type: 'integer', minimum: 1, maximum: 104, description: 'How many weeks back, this one included (default 8).' },
          timezone: { type: 'string' }, format: { enum: ['json', 'csv'] },
        } },
      },
    },
    async (req, reply) => {
      const engine = ctx.projects.get(req.params.project);
      const zone = req.query.timezone ?? (engine.getConfig().timezone as string | undefined) ?? 'Europe/Moscow';
      const thisWeek = DateTime.now().setZone(zone).startOf('week'); // luxon weeks are ISO weeks: Monday first
      if (!thisWeek.isValid) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `timezone: ${thisWeek.invalidExplanation ?? 'invalid'}`, field: 'timezone' });
      const count = req.query.weeks ?? 8;
      const weeks = Array.from({ length: count }, (_, i) => thisWeek.minus({ weeks: count - 1 - i }));
      const figures = await engine.store.contacts.weeklyFigures(weeks.map((w) => ({ from: w.toMillis(), to: w.plus({ weeks: 1 }).toMillis() })));
      const rows = weeks.map((w, i) => ({ week: w.toFormat("kkkk-'W'WW"), from: w.toISODate(), ...figures[i] }));
      if (req.query.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').send(csv([['week', 'from', 'new', 'unsubscribed', 'blocked'], ...rows.map((r) => [r.week, r.from, r.new, r.unsubscribed, r.blocked])]));
      }
      return { timezone: zone, weeks: rows };
    },
  );
}
