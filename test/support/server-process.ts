import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/conveyor.js', import.meta.url));

/** The real server as its own OS process, so a test can kill -9 it. */
export async function spawnServer(dataDir: string, port: number): Promise<{ child: ChildProcess; url: string }> {
  // CONVEYOR_SERVER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile a bench's server.
  const nodeArgs = (process.env.CONVEYOR_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data', dataDir], {
    env: { ...process.env, CONVEYOR_API_KEY: 'test-key', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${err}`);
    try {
      if ((await fetch(url + '/health')).ok) return { child, url };
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`server did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
