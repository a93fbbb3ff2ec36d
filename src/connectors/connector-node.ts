import type { NodeDefinition } from '../model/process-definition.ts';
import type { NodeContext, NodeType, Outcome, PaceRequest } from '../engine/node-type.ts';
import type { TaskData } from '../engine/task.ts';
import { checkRetry, nextAttemptAt, retryPolicyFrom } from '../engine/retry-policy.ts';
import { checkDuration } from '../nodes/call.ts';
import { DURATION, NODE_ID, fieldEdges } from '../nodes/edges.ts';
import type { Connection, Pace } from './connector.ts';
import { ServiceFailure, type Exchange } from './service-failure.ts';

/** What a connector node's call returns on success. */
export interface ServiceResult {
  /** Fields merged into the task's data (under `save_as` when the node sets it). */
  patch?: TaskData;
  /** Overrides `next` (e.g. a call outcome that picks an edge). */
  to?: string;
  exchange?: Exchange;
}

export interface ConnectorNodeSpec {
  type: string;
  description: string;
  /** The connector whose connections this node uses. */
  connector: string;
  /** The connector's default pace; a connection's `rate` / `burst` settings override it. */
  pace: Pace;
  /** JSON Schema of the node's own parameters (the common ones are added). */
  params: Record<string, unknown>;
  required?: string[];
  /**
   * A narrower pace than the connection's for this task's call, e.g. Telegram's per-chat limit: the
   * task then waits its turn on the lane `<connector>:<connection>:<lane>` (not counted as an attempt).
   */
  lane?(ctx: NodeContext): { lane: string; perSecond: number; burst: number } | undefined;
  /** Extra outgoing edges the node has (besides next, on_error, on_unreachable), e.g. outcome edges. */
  edges?(node: NodeDefinition): Array<{ field: string; to: string }>;
  check?(node: NodeDefinition): string[];
  /** One call for one task. `params` are the node's parameters rendered against the task. Throw ServiceFailure. */
  call(ctx: NodeContext, connection: Connection, params: Record<string, unknown>): Promise<ServiceResult>;
  /**
   * Many tasks in one request (Bitrix24 `batch`): one entry per context, a result or a ServiceFailure.
   * Throwing fails the whole batch the same way for every task.
   */
  callMany?: {
    max: number;
    call(items: Array<{ ctx: NodeContext; params: Record<string, unknown> }>, connection: Connection): Promise<Array<ServiceResult | ServiceFailure>>;
  };
}

/** Parameters every connector node has. */
const COMMON = {
  connection: { type: 'string', minLength: 1, description: 'Name of the project connection to use; default "default".' },
  next: NODE_ID,
  on_unreachable: { ...NODE_ID, description: 'Where to go when the service cannot reach this contact (blocked, stop list, wrong number).' },
  save_as: { type: 'string', minLength: 1, description: 'Task field to keep the result under, instead of merging it into the data.' },
  retry: { type: 'object' },
  timeout: DURATION,
};

/**
 * A node type that calls a service through a project connection: renders its parameters, waits its turn
 * at the connection's pace (the engine queues it), and turns a ServiceFailure into retry (with the
 * node's policy; the service's Retry-After wins), the error edge, or `on_unreachable`.
 */
export function connectorNode(spec: ConnectorNodeSpec): NodeType {
  const connectionOf = (ctx: NodeContext) => ctx.connections.get(spec.connector, (ctx.node.connection as string | undefined) ?? 'default');
  const paramsOf = (ctx: NodeContext) => {
    const { type: _t, title: _ti, on_error: _e, next: _n, on_unreachable: _u, connection: _c, save_as: _s, retry: _r, ...rest } = ctx.node;
    return ctx.render(rest) as Record<string, unknown>;
  };
  return {
    type: spec.type,
    description: spec.description,
    async: true,
    refs: { connections: [{ path: 'connection', connector: spec.connector, default: 'default' }] },
    paramsSchema: { required: ['next', ...(spec.required ?? [])], properties: { ...COMMON, ...spec.params } },
    check: (n) => [...checkRetry(n.retry), ...checkDuration(n.timeout, 'timeout'), ...(spec.check?.(n) ?? [])],
    edges: (n) => [...fieldEdges(n, 'next', 'on_unreachable'), ...(spec.edges?.(n) ?? [])],
    pace(ctx): PaceRequest {
      const conn = connectionOf(ctx);
      const rate = Number(conn.settings.rate) || spec.pace.perSecond;
      const burst = Number(conn.settings.burst) || spec.pace.burst;
      const wide: PaceRequest = { key: `${spec.connector}:${conn.name}`, perSecond: rate, burst, batch: spec.callMany?.max };
      const narrow = spec.lane?.(ctx);
      return narrow ? { key: `${wide.key}:${narrow.lane}`, perSecond: narrow.perSecond, burst: narrow.burst, within: wide } : wide;
    },
    async run(ctx) {
      let conn: Connection;
      let params: Record<string, unknown>;
      try {
        conn = connectionOf(ctx);
        params = paramsOf(ctx);
      } catch (e) {
        return { kind: 'fail', error: (e as Error).message };
      }
      try {
        return success(ctx, await spec.call(ctx, conn, params));
      } catch (e) {
        return failure(ctx, e, `${spec.connector}:${conn.name}`);
      }
    },
    runBatch: spec.callMany && (async (ctxs) => {
      const conn = connectionOf(ctxs[0]);
      const items: Array<{ ctx: NodeContext; params: Record<string, unknown> }> = [];
      const out: Array<Outcome | undefined> = ctxs.map((ctx) => {
        try {
          items.push({ ctx, params: paramsOf(ctx) });
          return undefined;
        } catch (e) {
          return { kind: 'fail', error: (e as Error).message };
        }
      });
      let results: Array<ServiceResult | ServiceFailure>;
      try {
        results = items.length ? await spec.callMany!.call(items, conn) : [];
      } catch (e) {
        results = items.map(() => e as ServiceFailure);
      }
      items.forEach((item, i) => {
        const r = results[i];
        out[ctxs.indexOf(item.ctx)] = r instanceof Error ? failure(item.ctx, r, `${spec.connector}:${conn.name}`) : success(item.ctx, r);
      });
      return out as Outcome[];
    }),
  };
}

function success(ctx: NodeContext, r: ServiceResult): Outcome {
  const saveAs = ctx.node.save_as as string | undefined;
  const patch = r.patch && saveAs ? { [saveAs]: r.patch } : r.patch;
  return { kind: 'go', to: r.to ?? (ctx.node.next as string), patch, detail: r.exchange ? { ...r.exchange } : undefined };
}

/** A thrown ServiceFailure (or any error, as a failure that will not pass) → the task's outcome. */
export function failure(ctx: NodeContext, e: unknown, paceKey: string): Outcome {
  if (!(e instanceof ServiceFailure)) return { kind: 'fail', error: e instanceof Error ? e.message : String(e) };
  const detail: Record<string, unknown> = { ...e.opts.exchange, failure: e.failure, code: e.opts.code, attempt: ctx.task.attempt + 1 };
  if (e.opts.slowDown) ctx.slowDown(paceKey, e.opts.retryAfterMs ?? 1000);
  if (e.failure === 'unreachable') {
    const to = ctx.node.on_unreachable as string | undefined;
    return to ? { kind: 'go', to, patch: { unreachable: e.message }, detail } : { kind: 'fail', error: `unreachable: ${e.message}`, detail };
  }
  if (e.failure !== 'retry') return { kind: 'fail', error: e.message, detail };
  const failed = ctx.task.attempt + 1;
  const at = nextAttemptAt(retryPolicyFrom(ctx.node.retry), failed, Date.now(), e.opts.retryAfterMs);
  return at === null
    ? { kind: 'fail', error: `gave up after ${failed} attempts: ${e.message}`, detail }
    : { kind: 'retry', at, error: e.message, detail };
}
