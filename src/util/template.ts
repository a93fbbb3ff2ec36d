/**
 * `{{ path }}` templates over a task. Bare paths read the task's data (`{{ phone }}`,
 * `{{ post.name }}`, `{{ items.0.sku }}`); `$`-roots read the rest: `$task.id`, `$task.ref`,
 * `$task.callback_url`, `$config.NAME`, `$now` (ISO time), `$node`. A string that is exactly one
 * placeholder keeps the value's type (number, object); otherwise values are interpolated as text.
 * Templates are compiled once per distinct string, since the same node renders for every task.
 */
export interface TemplateScope {
  data: Record<string, unknown>;
  roots: Record<string, unknown>;
}

type Part = string | { path: string[]; root: boolean };
type Compiled = { whole: Part | null; parts: Part[] };

const cache = new Map<string, Compiled>();
const CACHE_LIMIT = 5000;
const PLACEHOLDER = /\{\{\s*([^{}]+?)\s*\}\}/g;

export function hasTemplate(value: string): boolean {
  return value.includes('{{');
}

export function splitPath(path: string): string[] {
  return path.split('.').filter((p) => p.length > 0);
}

function compile(text: string): Compiled {
  let hit = cache.get(text);
  if (hit) return hit;
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index! > last) parts.push(text.slice(last, m.index));
    const expr = m[1].trim();
    const root = expr.startsWith('$');
    parts.push({ path: splitPath(root ? expr.slice(1) : expr), root });
    last = m.index! + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  hit = { parts, whole: parts.length === 1 && typeof parts[0] !== 'string' ? parts[0] : null };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, hit);
  return hit;
}

export function getPath(source: unknown, path: readonly string[]): unknown {
  let cur = source;
  for (const key of path) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function lookup(part: Exclude<Part, string>, scope: TemplateScope): unknown {
  return part.root ? getPath(scope.roots, part.path) : getPath(scope.data, part.path);
}

function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function renderString(text: string, scope: TemplateScope): unknown {
  if (!hasTemplate(text)) return text;
  const c = compile(text);
  if (c.whole) return lookup(c.whole as Exclude<Part, string>, scope);
  let out = '';
  for (const p of c.parts) out += typeof p === 'string' ? p : asText(lookup(p, scope));
  return out;
}

/** Renders every string inside a JSON value; objects and arrays are copied, other values kept. */
export function render(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') return renderString(value, scope);
  if (Array.isArray(value)) return value.map((v) => render(v, scope));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = render(v, scope);
    return out;
  }
  return value;
}

/** Sets `a.b.c` in an object, creating plain objects on the way. */
export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = target;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[path[i]] = {};
    cur = cur[path[i]] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}
