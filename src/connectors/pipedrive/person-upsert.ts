import { ServiceFailure, type Exchange } from '../service-failure.ts';
import type { PipedriveClient } from './pipedrive-client.ts';
import { contactList, defined, emailKey, phoneKey } from './pipedrive-params.ts';

export interface PipedriveContact { value: string; primary?: boolean; label?: string }
/** A person as v2 answers it (the fields we use). */
export interface PipedrivePerson { id: number; name?: string; emails?: PipedriveContact[]; phones?: PipedriveContact[]; org_id?: number | null }
/** One hit of `GET /api/v2/persons/search`: contacts come as plain strings there. */
export interface PersonHit { id: number; name?: string; emails?: string[]; phones?: string[] }

export async function searchPersons(
  client: PipedriveClient, term: string, fields: string[], exact: boolean,
): Promise<{ hits: PersonHit[]; exchange: Exchange }> {
  const { data, exchange } = await client.get<{ items?: Array<{ item?: PersonHit }> }>('/api/v2/persons/search', {
    term, fields: fields.join(','), exact_match: exact || undefined, limit: 10,
  });
  const hits = (data?.items ?? []).map((i) => i.item).filter((i): i is PersonHit => !!i && typeof i.id === 'number');
  return { hits, exchange };
}

export interface UpsertInput {
  name?: string;
  emails: string[];
  phones: string[];
  fields: Record<string, unknown>;
  /** false: a found person keeps its name, organization and custom fields; only new contacts are added. */
  updateFields: boolean;
}

const RECENT_MS = 10 * 60_000;
const RECENT_MAX = 10_000;

/**
 * Persons this process created lately, by contact. Pipedrive's search index lags behind a create by
 * seconds, so a second event for the same new person would not find it and would create a double.
 */
const recent = new Map<string, { id: number; until: number }>();
/** Upserts of the same contact in this process run one after another, or both would create. */
const locks = new Map<string, Promise<void>>();

async function withLock<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
  for (;;) {
    const held = keys.map((k) => locks.get(k)).filter((p): p is Promise<void> => !!p);
    if (!held.length) break;
    await Promise.allSettled(held);
  }
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  for (const k of keys) locks.set(k, mine);
  try {
    return await fn();
  } finally {
    for (const k of keys) if (locks.get(k) === mine) locks.delete(k);
    release();
  }
}

function recentId(keys: string[], now: number): number | undefined {
  for (const k of keys) {
    const r = recent.get(k);
    if (r && r.until > now) return r.id;
    if (r) recent.delete(k);
  }
  return undefined;
}

function remember(keys: string[], id: number, now: number): void {
  if (recent.size > RECENT_MAX) for (const [k, r] of recent) if (r.until <= now) recent.delete(k);
  for (const k of keys) recent.set(k, { id, until: now + RECENT_MS });
}

/** The person an email or phone already belongs to: by email first (exact), then by phone (same digits). */
async function findExisting(client: PipedriveClient, input: UpsertInput): Promise<{ hit?: PersonHit; exchange?: Exchange }> {
  let exchange: Exchange | undefined;
  for (const email of input.emails) {
    const r = await searchPersons(client, email, ['email'], true);
    exchange = r.exchange;
    const hit = r.hits.find((h) => (h.emails ?? []).some((e) => emailKey(e) === emailKey(email)));
    if (hit) return { hit, exchange };
  }
  for (const phone of input.phones) {
    // Search by digits: people write +7 (916) 123-45-67 and 89161234567 for the same number.
    const r = await searchPersons(client, phoneKey(phone), ['phone'], false);
    exchange = r.exchange;
    const hit = r.hits.find((h) => (h.phones ?? []).some((p) => phoneKey(p) === phoneKey(phone)));
    if (hit) return { hit, exchange };
  }
  return { exchange };
}

/** Contacts of `have` plus those of `add` not among them (new ones not primary unless `have` is empty). */
function merged(have: PipedriveContact[], add: string[], key: (s: string) => string): PipedriveContact[] | undefined {
  const fresh = add.filter((v, i) => !have.some((h) => key(h.value) === key(v)) && add.findIndex((x) => key(x) === key(v)) === i);
  if (!fresh.length) return undefined;
  const extra = contactList(fresh).map((c) => ({ ...c, primary: have.length === 0 && c.primary }));
  return [...have, ...extra];
}

async function update(client: PipedriveClient, id: number, known: PersonHit | undefined, input: UpsertInput): Promise<Exchange | undefined> {
  const body: Record<string, unknown> = input.updateFields ? defined({ name: input.name, ...input.fields }) : {};
  const missing = (list: string[] | undefined, values: string[], key: (s: string) => string) =>
    !known || values.some((v) => !(list ?? []).some((x) => key(x) === key(v)));
  let exchange: Exchange | undefined;
  if (missing(known?.emails, input.emails, emailKey) || missing(known?.phones, input.phones, phoneKey)) {
    // PATCH replaces the whole array: read the person's labelled contacts to keep them.
    const r = await client.get<PipedrivePerson>(`/api/v2/persons/${id}`);
    exchange = r.exchange;
    const emails = merged(r.data.emails ?? [], input.emails, emailKey);
    const phones = merged(r.data.phones ?? [], input.phones, phoneKey);
    if (emails) body.emails = emails;
    if (phones) body.phones = phones;
  }
  if (!Object.keys(body).length) return exchange;
  return (await client.patch<PipedrivePerson>(`/api/v2/persons/${id}`, body)).exchange;
}

/**
 * Finds the person by email or phone and updates it, or creates it: one person per contact however
 * many events arrive, even seconds apart (before Pipedrive's search sees the new person).
 */
export async function upsertPerson(client: PipedriveClient, input: UpsertInput): Promise<{ personId: number; created: boolean; exchange?: Exchange }> {
  if (!input.emails.length && !input.phones.length) {
    throw new ServiceFailure('fail', 'email or phone: one is needed to find the person', { code: 'bad_param' });
  }
  const keys = [...input.emails.map((e) => `e:${emailKey(e)}`), ...input.phones.map((p) => `p:${phoneKey(p)}`)].map((k) => `${client.account}|${k}`);
  return withLock(keys, async () => {
    const found = await findExisting(client, input);
    if (found.hit) return { personId: found.hit.id, created: false, exchange: (await update(client, found.hit.id, found.hit, input)) ?? found.exchange };
    const remembered = recentId(keys, Date.now());
    if (remembered !== undefined) {
      try {
        return { personId: remembered, created: false, exchange: (await update(client, remembered, undefined, input)) ?? found.exchange };
      } catch (e) {
        // Deleted or merged in Pipedrive since we created it: create it again.
        const gone = e instanceof ServiceFailure && (e.opts.code === 404 || e.opts.code === 410);
        if (!gone) throw e;
        for (const k of keys) recent.delete(k);
      }
    }
    const body = defined({
      name: input.name || input.emails[0] || input.phones[0],
      ...input.fields,
      emails: input.emails.length ? contactList(input.emails) : undefined,
      phones: input.phones.length ? contactList(input.phones) : undefined,
    });
    const { data, exchange } = await client.post<PipedrivePerson>('/api/v2/persons', body);
    remember(keys, data.id, Date.now());
    return { personId: data.id, created: true, exchange };
  });
}
