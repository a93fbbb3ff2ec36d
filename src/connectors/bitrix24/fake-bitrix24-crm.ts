/** A stored lead or contact: the fields as received, and its id (ids grow from 1). */
export interface FakeRecord {
  ID: number;
  [field: string]: unknown;
}

/** A Bitrix24 error the fake answers with: `{"error", "error_description"}` and an HTTP status. */
export class FakeBitrixError extends Error {
  constructor(readonly status: number, readonly code: string, readonly description: string) {
    super(description);
  }
}

export interface ListAnswer {
  result: Array<Record<string, unknown>>;
  total?: number;
  next?: number;
}

const PAGE = 50;
const MULTI = ['PHONE', 'EMAIL', 'WEB', 'IM'];
export const notFound = (): FakeBitrixError => new FakeBitrixError(400, '', 'Not found');

/**
 * Leads or contacts in memory, cheap enough for hundreds of thousands: a record is the parsed fields
 * plus its id, kept in an array by id; lookups by a field build an index on first use and keep it.
 */
export class FakeTable {
  readonly rows: FakeRecord[] = [];
  private readonly indexes = new Map<string, Map<string, number[]>>();
  private comms: Map<string, number[]> | null = null;
  private readonly interner = new Interner();

  add(fields: Record<string, unknown>): number {
    const row = this.interner.copy(fields, { ID: this.rows.length + 1 }) as FakeRecord;
    this.rows.push(row);
    this.indexRow(row);
    return row.ID;
  }

  update(id: number, fields: Record<string, unknown>): void {
    const row = this.find(id);
    this.unindexRow(row);
    for (const [k, v] of Object.entries(fields)) {
      if (k === 'ID') continue;
      // Multi-fields (PHONE, EMAIL) get the new values added, as in Bitrix24.
      const value = this.interner.value(k, v);
      row[k] = MULTI.includes(k) && Array.isArray(value) ? [...(Array.isArray(row[k]) ? (row[k] as unknown[]) : []), ...value] : value;
    }
    this.indexRow(row);
  }

  get(id: number): Record<string, unknown> {
    return present(this.find(id), undefined);
  }

  list(p: Record<string, unknown>): ListAnswer {
    const filter = asObject(p.filter);
    const select = Array.isArray(p.select) ? p.select.map(String) : undefined;
    const start = Number(p.start ?? 0) || 0;
    let rows = this.match(filter);
    const order = Object.entries(asObject(p.order))[0];
    if (order) {
      const [field, dir] = order;
      const sign = String(dir).toUpperCase() === 'DESC' ? -1 : 1;
      rows = [...rows].sort((a, b) => sign * compare(a[field], b[field]));
    }
    const from = Math.max(0, start);
    const page = rows.slice(from, from + PAGE).map((r) => present(r, select ?? ['*']));
    if (start === -1) return { result: page };
    return { result: page, total: rows.length, ...(from + PAGE < rows.length && { next: from + PAGE }) };
  }

  /** Ids of records with any of these phones or e-mails (phones compared by digits). */
  findByComm(type: 'PHONE' | 'EMAIL', values: string[]): number[] {
    if (!this.comms) {
      this.comms = new Map();
      for (const row of this.rows) this.indexComms(row);
    }
    const ids = new Set<number>();
    for (const v of values) for (const id of this.comms.get(commKey(type, v)) ?? []) ids.add(id);
    return [...ids].sort((a, b) => a - b);
  }

  private find(id: number): FakeRecord {
    const row = Number.isInteger(id) && id > 0 ? this.rows[id - 1] : undefined;
    if (!row) throw notFound();
    return row;
  }

  /** Rows matching a Bitrix24 filter: `F` / `=F` equal, `!F` not equal, `%F` contains, `>F` `<F` `>=F` `<=F`, `@F` in list. */
  private match(filter: Record<string, unknown>): FakeRecord[] {
    const conds = Object.entries(filter).map(([key, want]) => {
      const m = /^(>=|<=|=|!|%|>|<|@)?(.+)$/.exec(key)!;
      return { op: m[1] ?? '=', field: m[2], want };
    });
    const indexed = conds.find((c) => c.op === '=' && !Array.isArray(c.want) && !MULTI.includes(c.field));
    const candidates = indexed ? this.lookup(indexed.field, indexed.want).map((i) => this.rows[i]) : this.rows;
    return candidates.filter((row) => conds.every((c) => test(row[c.field], c.op, c.want)));
  }

  private lookup(field: string, value: unknown): number[] {
    let index = this.indexes.get(field);
    if (!index) {
      index = new Map();
      this.indexes.set(field, index);
      this.rows.forEach((row, i) => addTo(index!, norm(row[field]), i));
    }
    return index.get(norm(value)) ?? [];
  }

  private indexRow(row: FakeRecord): void {
    for (const [field, index] of this.indexes) addTo(index, norm(row[field]), row.ID - 1);
    if (this.comms) this.indexComms(row);
  }

  private unindexRow(row: FakeRecord): void {
    for (const [field, index] of this.indexes) {
      const list = index.get(norm(row[field]));
      drop(list, row.ID - 1);
    }
    if (this.comms) {
      for (const type of ['PHONE', 'EMAIL'] as const) {
        for (const v of multiValues(row[type])) {
          const list = this.comms.get(commKey(type, v));
          drop(list, row.ID);
        }
      }
    }
  }

  private indexComms(row: FakeRecord): void {
    for (const type of ['PHONE', 'EMAIL'] as const) for (const v of multiValues(row[type])) addTo(this.comms!, commKey(type, v), row.ID);
  }
}

/**
 * Shares equal strings of a field whose values repeat (STATUS_ID, SOURCE_ID, VALUE_TYPE…), so a few
 * hundred thousand stored leads do not each hold their own copy. A field seen with more than 256
 * distinct values (names, phones) is left alone, which bounds the pools.
 */
class Interner {
  private readonly pools = new Map<string, Map<string, string> | null>();

  /** A copy of `value` with shared strings, its properties added to `into` when given. */
  copy(value: Record<string, unknown>, into: Record<string, unknown> = {}, path = ''): Record<string, unknown> {
    // A client's own ID among the fields never replaces the record's id.
    for (const [k, v] of Object.entries(value)) if (!(k === 'ID' && 'ID' in into)) into[k] = this.value(path + k, v);
    return into;
  }

  value(path: string, v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.value(`${path}[]`, x));
    if (v && typeof v === 'object') return this.copy(v as Record<string, unknown>, {}, `${path}.`);
    if (typeof v !== 'string' || v.length > 64) return v;
    let pool = this.pools.get(path);
    if (pool === null) return v;
    if (!pool) this.pools.set(path, (pool = new Map()));
    const shared = pool.get(v);
    if (shared !== undefined) return shared;
    if (pool.size >= 256) {
      this.pools.set(path, null);
      return v;
    }
    pool.set(v, v);
    return v;
  }
}

/** A record as Bitrix24 answers it: strings, `ID` first; multi-fields on get, on list only when selected. */
function present(row: FakeRecord, select: string[] | undefined): Record<string, unknown> {
  const all = !select || !select.length || select.includes('*');
  const out: Record<string, unknown> = { ID: String(row.ID) };
  for (const [k, v] of Object.entries(row)) {
    if (k === 'ID') continue;
    const wanted = MULTI.includes(k) ? (select ? select.includes(k) : true) : all || select!.includes(k);
    if (!wanted) continue;
    out[k] = MULTI.includes(k) && Array.isArray(v)
      ? v.map((e, i) => ({ ID: String(row.ID * 10 + i), VALUE_TYPE: 'WORK', ...(e as object), TYPE_ID: k }))
      : v === null || typeof v === 'object' ? v : String(v);
  }
  return out;
}

function test(have: unknown, op: string, want: unknown): boolean {
  if (op === '@') return Array.isArray(want) && want.some((w) => norm(w) === norm(have));
  if (op === '=') return Array.isArray(want) ? want.some((w) => norm(w) === norm(have)) : norm(have) === norm(want);
  if (op === '!') return norm(have) !== norm(want);
  if (op === '%') return norm(have).includes(norm(want));
  const c = compare(have, want);
  return op === '>' ? c > 0 : op === '<' ? c < 0 : op === '>=' ? c >= 0 : c <= 0;
}

function compare(a: unknown, b: unknown): number {
  const x = Number(a);
  const y = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return norm(a).localeCompare(norm(b));
}

/** Bitrix24 compares strings case-insensitively (MySQL collation); missing equals empty. */
function norm(v: unknown): string {
  return v === null || v === undefined ? '' : String(v).toLowerCase();
}

function commKey(type: string, value: string): string {
  return type === 'PHONE' ? `P${value.replace(/\D/g, '')}` : `E${value.trim().toLowerCase()}`;
}

function multiValues(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map((e) => String((e as { VALUE?: unknown })?.VALUE ?? '')).filter((x) => x !== '');
}

function drop(list: number[] | undefined, n: number): void {
  const at = list ? list.indexOf(n) : -1;
  if (at >= 0) list!.splice(at, 1);
}

function addTo<K>(map: Map<K, number[]>, key: K, n: number): void {
  const list = map.get(key);
  if (list) list.push(n);
  else map.set(key, [n]);
}

export function asObject(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * A query string in PHP's bracket notation → nested values, the way Bitrix24 (PHP's parse_str) reads
 * a batch command or a form body: `fields[PHONE][0][VALUE]=1` → `{fields: {PHONE: [{VALUE: '1'}]}}`.
 */
export function parseBracketQuery(qs: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const part of qs.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    const m = /^([^[\]]+)((?:\[[^\]]*\])*)$/.exec(key);
    const path = m ? [m[1], ...[...m[2].matchAll(/\[([^\]]*)\]/g)].map((x) => x[1])] : [key];
    if (path.some((s) => s === '__proto__' || s === 'constructor' || s === 'prototype')) continue;
    let cur = root;
    path.forEach((seg, i) => {
      const k = seg === '' ? String(Object.keys(cur).length) : seg;
      if (i === path.length - 1) return void (cur[k] = value);
      if (!cur[k] || typeof cur[k] !== 'object') cur[k] = {};
      cur = cur[k] as Record<string, unknown>;
    });
  }
  return arrayify(root) as Record<string, unknown>;
}

/** PHP arrays with keys 0…n-1 are lists. */
function arrayify(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) o[k] = arrayify(o[k]);
  const keys = Object.keys(o);
  return keys.length && keys.every((k, i) => k === String(i)) ? keys.map((k) => o[k]) : o;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
