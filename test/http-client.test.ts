import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyHttp, parseRetryAfter } from '../src/engine/retry-policy.ts';
import { createHttpClient, HttpFailure, type HttpResponse } from '../src/util/http-client.ts';
import { startFakeServer, times, type FakeServer } from './support/fake-http-server.ts';

let srv: FakeServer;
const http = createHttpClient({ maxResponseBytes: 1024 });
beforeAll(async () => {
  srv = await startFakeServer();
});
afterAll(async () => {
  await http.close();
  await srv.close();
});
beforeEach(() => srv.reset());

const get = (path: string, timeoutMs = 2000) => http.request({ method: 'GET', url: srv.url + path, timeoutMs });

/** The failure a request ends in, and how long it took. */
async function failure(p: Promise<HttpResponse>): Promise<{ err: HttpFailure; ms: number }> {
  const t0 = performance.now();
  const err = await p.then(
    () => { throw new Error('expected an HttpFailure'); },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpFailure);
  return { err: err as HttpFailure, ms: performance.now() - t0 };
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('http client: answers', () => {
  it('200 JSON: status, lower-cased headers, parsed body; the request arrives as sent', async () => {
    srv.on('POST', '/lead', { status: 200, headers: { 'X-Request-Id': 'r1' }, body: { result: 42 } });
    const res = await http.request({
      method: 'post', url: `${srv.url}/lead?auth=k`, headers: { 'Content-Type': 'application/json', 'X-Token': 't' },
      body: JSON.stringify({ name: 'Ann' }), timeoutMs: 2000,
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('r1');
    expect(res.json).toEqual({ result: 42 });
    expect(res.body).toBe('{"result":42}');
    expect(res.durationMs).toBeGreaterThan(0);
    expect(res.truncated).toBeUndefined();
    const [req] = srv.hits('/lead');
    expect(req).toMatchObject({ method: 'POST', query: { auth: 'k' }, json: { name: 'Ann' } });
    expect(req.headers['x-token']).toBe('t');
  });

  it('429 with Retry-After twice, then 200 (queued answers)', async () => {
    srv.queue('GET', '/limited', times(2, { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'QUERY_LIMIT_EXCEEDED' } }), { status: 200, body: { ok: true } });
    const answers = [await get('/limited'), await get('/limited'), await get('/limited'), await get('/limited')];
    expect(answers.map((r) => r.status)).toEqual([429, 429, 200, 404]);
    expect(parseRetryAfter(answers[0].headers['retry-after'], Date.now())).toBe(1000);
    expect(classifyHttp(answers[0])).toBe('retry');
    expect(answers[2].json).toEqual({ ok: true });
    expect(answers[3].json).toEqual({ error: 'not found' });
  });

  it('500 and 401 are responses, not exceptions', async () => {
    srv.on('GET', '/down', { status: 500, body: { error: 'INTERNAL_SERVER_ERROR' } });
    srv.on('GET', '/denied', { status: 401, body: { error: 'invalid_token' } });
    const [down, denied] = await Promise.all([get('/down'), get('/denied')]);
    expect(down.status).toBe(500);
    expect(classifyHttp(down)).toBe('retry');
    expect(denied.status).toBe(401);
    expect(denied.json).toEqual({ error: 'invalid_token' });
    expect(classifyHttp(denied)).toBe('fail');
  });

  it('a slow answer within the deadline is fine', async () => {
    srv.on('GET', '/slow', { status: 200, body: { ok: 1 }, delayMs: 300 });
    const res = await get('/slow', 2000);
    expect(res.status).toBe(200);
    expect(res.durationMs).toBeGreaterThanOrEqual(290);
  });

  it('non-JSON bodies: text kept, json undefined; a windows-1251 body is decoded', async () => {
    srv.on('GET', '/text', { status: 200, body: 'OK; id=5' });
    srv.on('GET', '/broken', { status: 200, headers: { 'content-type': 'application/json' }, body: '{"a":' });
    srv.on('GET', '/cp1251', { status: 200, headers: { 'content-type': 'text/plain; charset=windows-1251' }, body: Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]) });
    const [text, broken, cp] = await Promise.all([get('/text'), get('/broken'), get('/cp1251')]);
    expect([text.body, text.json]).toEqual(['OK; id=5', undefined]);
    expect([broken.body, broken.json]).toEqual(['{"a":', undefined]);
    expect(cp.body).toBe('Привет');
  });

  it('a body over maxResponseBytes is cut, and says so', async () => {
    srv.on('GET', '/big', { status: 200, body: { data: 'x'.repeat(5000) } });
    const res = await get('/big');
    expect(res.truncated).toBe(true);
    expect(res.json).toBeUndefined();
    expect(res.body.startsWith('{"data":"xxx')).toBe(true);
    expect(res.body).toMatch(/… \(cut at 1024 bytes of 5011\)$/);
    expect(res.body.length).toBeLessThan(1100);
    // A body of exactly the limit is whole.
    srv.on('GET', '/exact', { status: 200, body: 'y'.repeat(1024) });
    const exact = await get('/exact');
    expect([exact.truncated, exact.body.length]).toEqual([undefined, 1024]);
  });

  it('keep-alive: sequential requests share one connection; hop-by-hop headers do not break a request', async () => {
    const client = createHttpClient();
    srv.on('GET', '/ping', { status: 204 });
    for (let i = 0; i < 9; i++) await client.request({ method: 'GET', url: `${srv.url}/ping`, timeoutMs: 2000 });
    const res = await client.request({ method: 'GET', url: `${srv.url}/ping`, headers: { Connection: 'close', 'Content-Length': '99' }, timeoutMs: 2000 });
    expect(res.status).toBe(204);
    // undici may open a second socket while the first finishes its bookkeeping; not one per request.
    expect(new Set(srv.hits('/ping').map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
    await client.close();
  });
});

describe('http client: failures', () => {
  it('a server that accepts and never answers → timeout close to timeoutMs', async () => {
    srv.on('GET', '/hang', 'hang');
    const { err, ms } = await failure(get('/hang', 500));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/500 ms/);
    expect(ms).toBeGreaterThanOrEqual(480);
    expect(ms).toBeLessThan(1200);
  });

  it('headers then a stalled body → timeout close to timeoutMs', async () => {
    srv.on('GET', '/stall', { status: 200, body: '{"partial":', stall: true });
    srv.on('GET', '/stall2', 'stall');
    for (const path of ['/stall', '/stall2']) {
      const { err, ms } = await failure(get(path, 600));
      expect(err.kind).toBe('timeout');
      expect(ms).toBeGreaterThanOrEqual(580);
      expect(ms).toBeLessThan(1300);
    }
  });

  it('a slow answer past the deadline → timeout, and the pool still works afterwards', async () => {
    srv.on('GET', '/late', { status: 200, body: {}, delayMs: 800 });
    srv.on('GET', '/ok', { status: 200, body: { ok: true } });
    expect((await failure(get('/late', 300))).err.kind).toBe('timeout');
    expect((await get('/ok')).json).toEqual({ ok: true });
  });

  it('connection refused → network, with the code', async () => {
    const port = await closedPort();
    const { err, ms } = await failure(http.request({ method: 'GET', url: `http://127.0.0.1:${port}/x`, timeoutMs: 5000 }));
    expect(err.kind).toBe('network');
    expect(err.message).toContain('ECONNREFUSED');
    expect(ms).toBeLessThan(1000);
    expect(classifyHttp({ failure: err.kind })).toBe('retry');
  });

  it('socket destroyed by the server → network', async () => {
    srv.on('POST', '/cut', 'destroy');
    const { err } = await failure(http.request({ method: 'POST', url: `${srv.url}/cut`, body: '{}', timeoutMs: 2000 }));
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/UND_ERR_SOCKET|ECONNRESET|other side closed/);
    expect(srv.hits('/cut')).toHaveLength(1); // not silently re-sent
  });

  it('a malformed URL → network failure naming the problem, not a crash', async () => {
    const { err } = await failure(http.request({ method: 'GET', url: 'ftp://127.0.0.1/x', timeoutMs: 1000 }));
    expect(err.kind).toBe('network');
    expect(err.message.length).toBeGreaterThan(5);
  });

  it('many parallel hanging requests all end at their deadline', async () => {
    srv.on('GET', '/hang', 'hang');
    const t0 = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => get('/hang', 400)));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as HttpFailure).kind === 'timeout')).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1500);
  });
});

describe('fake server', () => {
  it('close() ends promptly even with hanging and stalled connections open', async () => {
    const other = await startFakeServer();
    other.on('GET', '/hang', 'hang');
    other.on('GET', '/stall', 'stall');
    const client = createHttpClient();
    const pending = [
      client.request({ method: 'GET', url: `${other.url}/hang`, timeoutMs: 20_000 }),
      client.request({ method: 'GET', url: `${other.url}/stall`, timeoutMs: 20_000 }),
    ].map((p) => p.catch((e: HttpFailure) => e.kind));
    while (other.requests.length < 2) await new Promise((r) => setTimeout(r, 10));
    const t0 = performance.now();
    await other.close();
    expect(await Promise.all(pending)).toEqual(['network', 'network']);
    expect(performance.now() - t0).toBeLessThan(1000);
    await client.close();
  });
});
