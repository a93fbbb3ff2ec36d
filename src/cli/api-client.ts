import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './output.ts';

export type TaskStatus = 'active' | 'sleeping' | 'waiting' | 'failed' | 'done' | 'error' | 'cancelled';

export interface Task {
  id: number; process: string; version: number; ref: string | null; status: TaskStatus; node: string;
  data: Record<string, unknown>; attempt: number; error: string | null; runAt: string | null;
  createdAt: string; updatedAt: string; parentId: number | null;
}
export interface HistoryItem { at: string; node: string; event: string; detail: Record<string, unknown> | null }
/** `deployedAt` is ISO by the spec; epoch ms is accepted too, the output formats either. */
export interface ProcessSummary { name: string; title?: string; version: number; deployedAt: string | number; publicId: string; alive: number }
export interface ProcessDetail {
  name: string; version: number; deployedAt: string; publicId: string; definition: Record<string, unknown>;
  versions: Array<{ version: number; deployedAt: string }>;
}
export interface PublicUrl { publicId: string; secret: string; path: string; corezoidPath: string }
export interface CreateResult { id: number; ref: string | null; created: boolean }
export interface FieldError { path: string; message: string }

/** A response: the parsed body for readable output, the raw text for `--json`. */
export interface Reply<T> { status: number; body: T; text: string }

/** The API answered with an error (`{statusCode, error, message, errors?}`). */
export class ApiError extends CliError {
  constructor(readonly status: number, message: string, readonly errors: FieldError[], readonly text: string) {
    super(message, 1, errors.map((e) => `${e.path}: ${e.message}`));
  }
}

export interface ClientOptions {
  url: string;
  project: string;
  key?: string;
  /** Where `key` came from, to say which one the server rejected. */
  keySource?: string;
  timeoutMs?: number;
}

/** What every command gets from the global options. */
export interface Ctx {
  api(): ApiClient;
  json(): boolean;
  /** The server's base URL, without a trailing slash. */
  url(): string;
}

/** The key from --key / CONVEYOR_API_KEY, else the server's own file, so the CLI on its machine just works. */
export function resolveKey(key: string | undefined, source = '--key'): { key: string; source: string } {
  if (key) return { key, source };
  const file = join(process.env.CONVEYOR_DATA || './data', 'api-key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), source: file };
  throw new CliError(`no API key: pass --key, set CONVEYOR_API_KEY, or run where the server keeps ${file}`);
}

const enc = encodeURIComponent;

/** A typed client of the management API (`/api/v1`); the CLI never opens the databases itself. */
export class ApiClient {
  private readonly base: string;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  get project(): string {
    return this.opts.project;
  }

  health = () => this.request<{ status: string }>('GET', '/health');
  listProjects = () => this.request<{ projects: Array<{ name: string; createdAt?: string }> }>('GET', '/api/v1/projects');
  createProject = (name: string) => this.request<{ name: string }>('POST', '/api/v1/projects', { name });

  listProcesses = () => this.request<{ processes: ProcessSummary[] }>('GET', this.p('/processes'));
  /** `text` is the file as written; the server parses YAML or JSON by content type. */
  deploy = (name: string, text: string, contentType: 'application/yaml' | 'application/json') =>
    this.request<{ name: string; version: number; publicId: string }>('PUT', this.p(`/processes/${enc(name)}`), text, contentType);
  getProcess = (name: string, version?: number) =>
    this.request<ProcessDetail>('GET', this.p(`/processes/${enc(name)}${version ? `?version=${version}` : ''}`));
  publicUrl = (name: string) => this.request<PublicUrl>('GET', this.p(`/processes/${enc(name)}/public-url`));
  stats = (name: string) => this.request<{ nodes: Record<string, number> }>('GET', this.p(`/processes/${enc(name)}/stats`));

  createTask = (process: string, input: { ref?: string; data: Record<string, unknown> }) =>
    this.request<CreateResult>('POST', this.p(`/processes/${enc(process)}/tasks`), input);
  listTasks(process: string, filter: { node?: string; status?: string; limit?: number } = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined && v !== '') q.set(k, String(v));
    return this.request<{ tasks: Task[] }>('GET', this.p(`/processes/${enc(process)}/tasks${q.toString() ? `?${q}` : ''}`));
  }
  getTask = (id: number, history?: number) =>
    this.request<{ task: Task; history: HistoryItem[] }>('GET', this.p(`/tasks/${id}${history !== undefined ? `?history=${history}` : ''}`));
  moveTask = (id: number, node: string) => this.request<{ task: Task }>('POST', this.p(`/tasks/${id}/move`), { node });
  requeueTask = (id: number) => this.request<{ task: Task }>('POST', this.p(`/tasks/${id}/requeue`), {});
  cancelTask = (id: number) => this.request<{ task: Task }>('POST', this.p(`/tasks/${id}/cancel`), {});

  private p(rest: string): string {
    return `/api/v1/projects/${enc(this.opts.project)}${rest}`;
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Reply<T>> {
    const auth = path.startsWith('/api/') ? resolveKey(this.opts.key, this.opts.keySource) : undefined;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          accept: 'application/json',
          ...(auth && { authorization: `Bearer ${auth.key}` }),
          ...(body !== undefined && { 'content-type': contentType }),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      if ((e as Error).name === 'TimeoutError') throw new CliError(`Conveyor at ${this.base} did not answer within ${timeoutMs / 1000}s`);
      throw new CliError(`cannot reach Conveyor at ${this.base}: is \`conveyor serve\` running?`);
    }
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const errors: FieldError[] = Array.isArray(parsed?.errors) ? parsed.errors : [];
      let message: string = typeof parsed?.message === 'string' ? parsed.message : `HTTP ${res.status} ${res.statusText} from ${this.base}${path}`;
      // The server's 401 text tells how to send a key; the user needs to know which key was wrong.
      if (res.status === 401 && auth) message = `the server rejected the API key from ${auth.source}: pass the right one with --key or CONVEYOR_API_KEY`;
      throw new ApiError(res.status, message, errors, parsed === undefined ? '' : text);
    }
    if (res.status === 204) return { status: 204, body: undefined as T, text: '' };
    if (parsed === undefined) throw new CliError(`${this.base}${path} answered HTTP ${res.status} without JSON: is it a Conveyor server?`);
    return { status: res.status, body: parsed as T, text };
  }
}
