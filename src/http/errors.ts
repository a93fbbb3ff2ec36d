import type { FastifyError, FastifyInstance } from 'fastify';
import { TaskError } from '../engine/project-engine.ts';
import { StaleTaskError } from '../storage/project-store.ts';

/** Every error as `{statusCode, error, message}`: 4xx name the field, a 500 never leaks internals. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const send = (statusCode: number, message: string, extra: Record<string, unknown> = {}) =>
      reply.code(statusCode).send({ statusCode, error: reasonPhrase(statusCode), message, ...extra });
    if (err instanceof TaskError) return send(err.statusCode, err.message, (err as TaskError & { extra?: Record<string, unknown> }).extra);
    if (err instanceof StaleTaskError) return send(409, `${err.message}; try again`);
    if (err.validation) {
      const v = err.validation[0];
      const where = `${err.validationContext ?? 'body'}${v.instancePath ? v.instancePath.replace(/\//g, '.') : ''}`;
      const params = v.params as { missingProperty?: string; additionalProperty?: string };
      const field = v.keyword === 'required' ? `${where}.${params.missingProperty}`
        : v.keyword === 'additionalProperties' ? `${where}.${params.additionalProperty}` : where;
      const msg = v.keyword === 'required' ? 'is required' : v.keyword === 'additionalProperties' ? 'unknown field' : v.message ?? 'is invalid';
      return send(400, `${field}: ${msg}`, { field });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(413, `body: larger than the limit of ${req.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit} bytes`, { field: 'body' });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(415, `content-type: ${req.headers['content-type']} is not accepted here; send application/json`, { field: 'content-type' });
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return send(400, 'body: is empty; send a JSON object', { field: 'body' });
    if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return send(400, `body: malformed JSON: ${err.message}`, { field: 'body' });
    if (err.statusCode && err.statusCode < 500) return send(err.statusCode, err.message);
    req.log.error({ err }, 'request failed');
    return send(500, 'internal error; the request was not applied');
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );
}

function reasonPhrase(code: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 410: 'Gone', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 500: 'Internal Server Error', 503: 'Service Unavailable' } as Record<number, string>
  )[code] ?? 'Error';
}
