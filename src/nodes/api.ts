import type { NodeContext, NodeType, Outcome } from '../engine/node-type.ts';
import type { TaskData } from '../engine/task.ts';
import { checkRetry, classifyHttp, nextAttemptAt, parseRetryAfter, retryPolicyFrom } from '../engine/retry-policy.ts';
import { parseDuration } from '../util/duration.ts';
import { HttpFailure, type HttpRequest, type HttpResponse } from '../util/http-client.ts';
import { keepText, maskHeaders, maskUrl, maskValue } from '../util/mask-secrets.ts';
import { getPath, splitPath } from '../util/template.ts';
import { checkDuration } from './call.ts';
import { DURATION, NODE_ID, fieldEdges } from './edges.ts';


/**
 * An HTTP request with templated URL, query, headers and body; response fields mapped into the task.
 * 429, 408, 5xx, network errors and timeouts are retried by the node's retry policy (Retry-After wins);
 * other statuses outside `success` go to the error edge at once. The whole exchange is kept, masked.
 */
export const apiNode: NodeType = {
  type: 'api',
  description: 'Call an HTTP API; map response fields into the task; retry what may pass.',
  async: true,
  paramsSchema: {
    required: ['url', 'next'],
    properties: {
      method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] },
      url: { type: 'string', minLength: 1 },
      query: { type: 'object' },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      body: { description: 'JSON body (templates).' },
      form: { type: 'object', description: 'Form-encoded body (templates).' },
      timeout: DURATION,
      retry: { type: 'object' },
      success: { type: 'array', items: { type: 'integer' }, description: 'Statuses that count as success; default 2xx.' },
      map: { type: 'object', additionalProperties: { type: 'string' }, description: 'task field → response path ($status, $headers.x, or a path in the JSON body).' },
      save_response: { type: 'string', description: 'Task field to keep {status, body} in.' },
      idempotency_key: { type: 'boolean', description: 'Send Idempotency-Key: <task id>-<node id>.' },
      next: NODE_ID,
    },
  },
  check: (n) => {
    const errs = checkDuration(n.timeout, 'timeout');
    errs.push(...checkRetry(n.retry));
    if (n.body !== undefined && n.form !== undefined) errs.push('body and form: use one of them');
    return errs;
  },
  edges: (n) => fieldEdges(n, 'next'),
  run: runApi,
};

export function buildRequest(ctx: NodeContext): HttpRequest {
  const n = ctx.node;
  const url = new URL(String(ctx.render(n.url)));
  for (const [k, v] of Object.entries((ctx.render(n.query ?? {}) as Record<string, unknown>) ?? {})) {
    if (v !== undefined && v !== null) url.searchParams.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((ctx.render(n.headers ?? {}) as Record<string, unknown>) ?? {})) headers[k.toLowerCase()] = String(v ?? '');
  let body: string | undefined;
  if (n.body !== undefined) {
    body = JSON.stringify(ctx.render(n.body));
    headers['content-type'] ??= 'application/json';
  } else if (n.form !== undefined) {
    const form = ctx.render(n.form) as Record<string, unknown>;
    body = new URLSearchParams(Object.entries(form).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v ?? '')])).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  if (n.idempotency_key) headers['idempotency-key'] ??= `${ctx.task.id}-${ctx.nodeId}`;
  const method = (n.method as string | undefined) ?? (body === undefined ? 'GET' : 'POST');
  return { method, url: url.toString(), headers, body, timeoutMs: parseDuration((n.timeout as string | number | undefined) ?? '30s') };
}

async function runApi(ctx: NodeContext): Promise<Outcome> {
  let req: HttpRequest;
  try {
    req = buildRequest(ctx);
  } catch (e) {
    return { kind: 'fail', error: `request: ${(e as Error).message}` };
  }
  const request = {
    method: req.method, url: maskUrl(req.url), headers: maskHeaders(req.headers),
    body: req.body === undefined ? undefined : keepText(maskBody(req.body)),
  };
  const policy = retryPolicyFrom(ctx.node.retry);
  const failed = ctx.task.attempt + 1;
  let res: HttpResponse;
  try {
    res = await ctx.services.http.request(req);
  } catch (e) {
    const kind = e instanceof HttpFailure ? e.kind : 'network';
    const error = `${kind}: ${(e as Error).message}`;
    const at = nextAttemptAt(policy, failed, Date.now());
    const detail = { request, attempt: failed, failure: kind };
    return at === null
      ? { kind: 'fail', error: `gave up after ${failed} attempts: ${error}`, detail }
      : { kind: 'retry', at, error, detail };
  }
  const response = { status: res.status, body: keepText(maskBody(res.body)), durationMs: Math.round(res.durationMs) };
  const ok = Array.isArray(ctx.node.success) ? (ctx.node.success as number[]).includes(res.status) : res.status >= 200 && res.status < 300;
  const detail = { request, response, attempt: failed };
  if (ok) return { kind: 'go', to: ctx.node.next as string, patch: mapResponse(ctx, res), detail };
  const error = `HTTP ${res.status}${shortReason(res)}`;
  if (classifyHttp({ status: res.status }) === 'fail') return { kind: 'fail', error, detail, patch: saved(ctx, res) };
  const at = nextAttemptAt(policy, failed, Date.now(), parseRetryAfter(res.headers['retry-after'], Date.now()));
  return at === null
    ? { kind: 'fail', error: `gave up after ${failed} attempts: ${error}`, detail, patch: saved(ctx, res) }
    : { kind: 'retry', at, error, detail };
}

function mapResponse(ctx: NodeContext, res: HttpResponse): TaskData {
  const patch: TaskData = saved(ctx, res) ?? {};
  for (const [field, path] of Object.entries((ctx.node.map as Record<string, string>) ?? {})) {
    patch[field] =
      path === '$status' ? res.status
      : path.startsWith('$headers.') ? res.headers[path.slice(9).toLowerCase()]
      : path === '$body' ? res.json ?? res.body
      : getPath(res.json, splitPath(path));
  }
  return patch;
}

function saved(ctx: NodeContext, res: HttpResponse): TaskData | undefined {
  const to = ctx.node.save_response as string | undefined;
  return to ? { [to]: { status: res.status, body: res.json ?? res.body } } : undefined;
}

function shortReason(res: HttpResponse): string {
  const j = res.json as Record<string, unknown> | undefined;
  const reason = j && (j.error_description ?? j.description ?? j.error ?? j.message);
  return reason ? `: ${typeof reason === 'string' ? reason : JSON.stringify(reason)}`.slice(0, 300) : '';
}

function maskBody(text: string): string {
  try {
    return JSON.stringify(maskValue(JSON.parse(text)));
  } catch {
    return text;
  }
}

