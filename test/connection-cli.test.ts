import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/conveyor.ts';

const BIN = fileURLToPath(new URL('../bin/conveyor.js', import.meta.url));
let server: TestServer;
beforeAll(async () => { server = await startTestServer({ masterKey: 'k' }); });
afterAll(() => server.stop());

const cli = (...args: string[]) => promisify(execFile)(process.execPath, [BIN, '--url', server.url, '--key', 'test-key', ...args])
  .then((r) => ({ code: 0, out: r.stdout, err: r.stderr }), (e) => ({ code: e.code as number, out: String(e.stdout), err: String(e.stderr) }));

describe('conveyor connection', () => {
  it('sets a connection from a file, lists it without its secret, deletes it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'conn-')), 'tg.yaml');
    writeFileSync(file, 'bot_token: "123456:SECRET-token_value"\napi_url: http://127.0.0.1:9\n');
    const set = await cli('connection', 'set', 'telegram', 'sellers', '--file', file);
    expect(set).toMatchObject({ code: 0, out: 'saved telegram connection "sellers" (secrets stored encrypted: bot_token)\n' });
    const list = await cli('connection', 'list');
    expect(list.out).toMatch(/telegram\s+sellers\s+\{"api_url":"http:\/\/127\.0\.0\.1:9"\}\s+bot_token/);
    expect(list.out).not.toContain('SECRET-token');
    expect((await cli('connection', 'connectors')).out).toMatch(/bitrix24\s+bitrix24\.lead\.add/);
    expect((await cli('connection', 'delete', 'telegram', 'sellers')).code).toBe(0);
    expect(JSON.parse((await cli('connection', 'list', '--json')).out)).toEqual({ connections: [] });
  });

  it('names what is wrong', async () => {
    expect(await cli('connection', 'set', 'telegram', '--settings', '{bad')).toMatchObject({ code: 2, err: expect.stringMatching(/--settings: /) });
    expect(await cli('connection', 'set', 'telegram', '--settings', '{"api_url":"http://x"}')).toMatchObject({ code: 1, err: expect.stringMatching(/settings\.bot_token: is required/) });
  });
});
