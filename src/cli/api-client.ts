import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GlobalOptions { url: string; key?: string; project: string; json?: boolean }

export class CliError extends Error {}

/** A thin client of the HTTP API; the CLI never opens the databases itself. */
export class ApiClient {
  constructor(private readonly opts: GlobalOptions) {}

  private key(): string {
    if (this.opts.key) return this.opts.key;
    const file = join(process.env.CONVEYOR_DATA ?? './data', 'api-key');
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    throw new CliError('no API key: pass --key, set CONVEYOR_API_KEY, or run where the server keeps ./data/api-key');
  }

  projectPath(rest: string): string {
    return `/api/v1/projects/${encodeURIComponent(this.opts.project)}${rest}`;
  }

  async call<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.opts.url + path, {
        method,
        headers: { authorization: `Bearer ${this.key()}`, ...(body !== undefined && { 'content-type': contentType }) },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`cannot reach Conveyor at ${this.opts.url}: is \`conveyor serve\` running?`);
    }
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* keep text */
    }
    if (!res.ok) {
      const lines = Array.isArray(parsed?.errors) ? parsed.errors.map((e: any) => `${e.path}: ${e.message}`) : [parsed?.message ?? text];
      throw new CliError(lines.join('\n'));
    }
    return parsed as T;
  }
}
