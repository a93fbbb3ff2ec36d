import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/conveyor.ts';

const BIN = fileURLToPath(new URL('../bin/conveyor.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'conveyor-import-'));
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.deploy({ name: 'hold', nodes: { hold: { type: 'delay', duration: '1h', next: 'end' }, end: { type: 'final' } } });
});
afterAll(() => server.stop());

const args = (...rest: string[]) => [BIN, '--url', server.url, '--key', 'test-key', 'import', ...rest];
const total = async () => Object.values((await server.api('GET', '/api/v1/projects/default/processes/hold/stats')).body.statuses as Record<string, number>).reduce((a, b) => a + b, 0);

describe('conveyor import', () => {
  it('resumes after a kill without creating any row twice', async () => {
    const rows = 20_000;
    const csv = join(dir, 'leads.csv');
    writeFileSync(csv, 'name;phone;city\n' + Array.from({ length: rows }, (_, i) => `Клиент ${i};+7916${String(i).padStart(7, '0')};Тверь`).join('\n') + '\n');
    const first = spawn(process.execPath, args(csv, '--process', 'hold', '--batch', '50'), { stdio: 'ignore' });
    const state = `${csv}.conveyor-import.json`;
    await server.until(async () => existsSync(state) && JSON.parse(readFileSync(state, 'utf8')).done >= 2000, 20_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const doneBefore = JSON.parse(readFileSync(state, 'utf8')).done as number;
    expect(doneBefore).toBeLessThan(rows);

    const { stdout, stderr } = await promisify(execFile)(process.execPath, args(csv, '--process', 'hold', '--batch', '1000'));
    expect(stderr).toContain(`resuming leads.csv after row ${doneBefore.toLocaleString('en')}`);
    expect(stdout).toMatch(new RegExp(`^${rows.toLocaleString('en')} rows: [\\d,]+ tasks created, [\\d,]+ already there, resumed after row ${doneBefore}`));
    expect(await total()).toBe(rows);
    expect(existsSync(state)).toBe(false);
    const some = (await server.api('GET', '/api/v1/projects/default/processes/hold/tasks?limit=1')).body.tasks[0];
    expect(some.data).toEqual({ name: `Клиент ${rows - 1}`, phone: `+7916${String(rows - 1).padStart(7, '0')}`, city: 'Тверь' });

    // The same file again: every row's ref is still alive, so nothing new is created.
    const again = await promisify(execFile)(process.execPath, args(csv, '--process', 'hold'), {});
    expect(again.stdout).toMatch(/20,000 rows: 0 tasks created, 20,000 already there/);
    expect(await total()).toBe(rows);
  });

  it('names the problem with bad input', async () => {
    const run = (...a: string[]) => promisify(execFile)(process.execPath, args(...a)).then(() => ({ code: 0, err: '' }), (e) => ({ code: e.code, err: String(e.stderr) }));
    expect(await run(join(dir, 'missing.csv'), '--process', 'hold')).toMatchObject({ code: 2, err: expect.stringMatching(/file: .*missing\.csv does not exist/) });
    writeFileSync(join(dir, 'one.csv'), 'name\nA\n');
    expect(await run(join(dir, 'one.csv'), '--process', 'hold', '--batch', '0')).toMatchObject({ code: 2, err: expect.stringMatching(/--batch: a whole number/) });
    expect(await run(join(dir, 'one.csv'), '--process', 'nope')).toMatchObject({ code: 1, err: expect.stringMatching(/process: "nope" is not deployed/) });
  });
});
