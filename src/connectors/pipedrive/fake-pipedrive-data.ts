import { randomUUID } from 'node:crypto';

export interface FakeContact { value: string; primary: boolean; label: string }
export interface FakePerson {
  id: number; name: string; emails: FakeContact[]; phones: FakeContact[]; org_id: number | null; owner_id: number;
  custom_fields: Record<string, unknown>; add_time: string; update_time: string; is_deleted: boolean;
  /** When the search index sees it (Pipedrive's index lags behind a create). */
  searchable_at: number;
}
export interface FakeOrganization { id: number; name: string; owner_id: number; address: { value: string } | null; custom_fields: Record<string, unknown>; add_time: string }
export interface FakeLead {
  id: string; title: string; person_id: number | null; organization_id: number | null; owner_id: number;
  value: { amount: number; currency: string } | null; label_ids: string[]; expected_close_date: string | null; add_time: string;
}
export interface FakeDeal {
  id: number; title: string; value: number; currency: string; person_id: number | null; org_id: number | null;
  pipeline_id: number; stage_id: number; status: string; lost_reason: string | null; owner_id: number;
  expected_close_date: string | null; custom_fields: Record<string, unknown>; add_time: string; update_time: string;
}
export interface FakeActivity {
  id: number; subject: string; type: string; due_date: string | null; due_time: string | null; duration: string | null;
  participants: Array<{ person_id: number; primary: boolean }>; person_id: number | null; deal_id: number | null;
  lead_id: string | null; org_id: number | null; owner_id: number; note: string | null; done: boolean; add_time: string;
}

export interface Answer { status: number; body: unknown }

const USER_ID = 1; // the token's user
const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';
const ACTIVITY_TYPES = new Set(['call', 'meeting', 'task', 'deadline', 'email', 'lunch']);

export function errorAnswer(status: number, error: string): Answer {
  return { status, body: { success: false, error, error_info: ERROR_INFO, data: null, additional_data: null, errorCode: status } };
}

const ok = (data: unknown, status = 200, additional_data: unknown = null): Answer => ({ status, body: { success: true, data, additional_data } });
const now = () => new Date().toISOString().replace('T', ' ').slice(0, 19);
const isId = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
const digits = (s: string) => s.replace(/\D/g, '');

/** Pipedrive's records in memory and the endpoints Conveyor uses, answering in Pipedrive's shapes. */
export class FakePipedriveData {
  readonly persons: FakePerson[] = [];
  readonly organizations: FakeOrganization[] = [];
  readonly leads: FakeLead[] = [];
  readonly deals: FakeDeal[] = [];
  readonly activities: FakeActivity[] = [];
  /** How long a new person stays out of search results. */
  indexDelayMs = 0;
  private seq = 1;

  route(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>): Answer | null {
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/v2/persons/search') return this.searchPersons(query);
    if (method === 'POST' && path === '/api/v2/persons') return this.createPerson(body);
    if ((m = /^\/api\/v2\/persons\/(\d+)$/.exec(path))) {
      if (method === 'GET') return this.withPerson(Number(m[1]), (p) => ok(this.personJson(p)));
      if (method === 'PATCH') return this.withPerson(Number(m[1]), (p) => this.updatePerson(p, body));
    }
    if (method === 'POST' && path === '/api/v2/organizations') return this.createOrganization(body);
    if (method === 'POST' && path === '/api/v1/leads') return this.createLead(body);
    if (method === 'POST' && path === '/api/v2/deals') return this.createDeal(body);
    if (method === 'PATCH' && (m = /^\/api\/v2\/deals\/(\d+)$/.exec(path))) return this.updateDeal(Number(m[1]), body);
    if (method === 'POST' && path === '/api/v2/activities') return this.createActivity(body);
    return null;
  }

  /** The person was deleted in Pipedrive: reads and updates answer 410 Gone. */
  deletePerson(id: number): void {
    const p = this.persons.find((x) => x.id === id);
    if (p) p.is_deleted = true;
  }

  private withPerson(id: number, fn: (p: FakePerson) => Answer): Answer {
    const p = this.persons.find((x) => x.id === id);
    if (!p) return errorAnswer(404, 'Person not found');
    if (p.is_deleted) return errorAnswer(410, 'Person is deleted');
    return fn(p);
  }

  private contacts(v: unknown, field: string): FakeContact[] | string {
    if (v === undefined) return [];
    if (!Array.isArray(v)) return `Validation failed: ${field}: must be an array`;
    const out: FakeContact[] = [];
    for (const c of v) {
      if (!c || typeof c !== 'object' || typeof (c as FakeContact).value !== 'string') return `Validation failed: ${field}: each item needs a string value`;
      const x = c as Partial<FakeContact>;
      out.push({ value: x.value!, primary: x.primary === true, label: x.label ?? 'work' });
    }
    if (out.length && !out.some((c) => c.primary)) out[0].primary = true;
    return out;
  }

  private checkOrg(v: unknown, field: string): string | null {
    if (v === undefined || v === null) return null;
    if (!isId(v)) return `Validation failed: ${field}: must be an integer`;
    return this.organizations.some((o) => o.id === v) ? null : `Organization with id ${String(v)} does not exist`;
  }

  private createPerson(b: Record<string, unknown>): Answer {
    if (typeof b.name !== 'string' || !b.name.trim()) return errorAnswer(400, 'Validation failed: name: Parameter \'name\' is required');
    const emails = this.contacts(b.emails, 'emails');
    const phones = this.contacts(b.phones, 'phones');
    if (typeof emails === 'string') return errorAnswer(400, emails);
    if (typeof phones === 'string') return errorAnswer(400, phones);
    const orgProblem = this.checkOrg(b.org_id, 'org_id');
    if (orgProblem) return errorAnswer(400, orgProblem);
    const t = now();
    const p: FakePerson = {
      id: this.seq++, name: b.name.trim(), emails, phones, org_id: (b.org_id as number | undefined) ?? null,
      owner_id: (b.owner_id as number | undefined) ?? USER_ID, custom_fields: (b.custom_fields as Record<string, unknown>) ?? {},
      add_time: t, update_time: t, is_deleted: false, searchable_at: Date.now() + this.indexDelayMs,
    };
    this.persons.push(p);
    return ok(this.personJson(p));
  }

  private updatePerson(p: FakePerson, b: Record<string, unknown>): Answer {
    const emails = b.emails === undefined ? p.emails : this.contacts(b.emails, 'emails');
    const phones = b.phones === undefined ? p.phones : this.contacts(b.phones, 'phones');
    if (typeof emails === 'string') return errorAnswer(400, emails);
    if (typeof phones === 'string') return errorAnswer(400, phones);
    if (b.name !== undefined && (typeof b.name !== 'string' || !b.name.trim())) return errorAnswer(400, 'Validation failed: name: must be a non-empty string');
    const orgProblem = this.checkOrg(b.org_id, 'org_id');
    if (orgProblem) return errorAnswer(400, orgProblem);
    Object.assign(p, {
      emails, phones, update_time: now(),
      ...(b.name !== undefined && { name: String(b.name).trim() }),
      ...(b.org_id !== undefined && { org_id: b.org_id }),
      ...(b.owner_id !== undefined && { owner_id: b.owner_id }),
      ...(b.custom_fields !== undefined && { custom_fields: { ...p.custom_fields, ...(b.custom_fields as object) } }),
    });
    return ok(this.personJson(p));
  }

  private personJson(p: FakePerson) {
    const { searchable_at: _s, ...rest } = p;
    const [first, ...last] = p.name.split(' ');
    return { ...rest, first_name: first, last_name: last.join(' ') || null, visible_to: 3, label_ids: [], picture_id: null };
  }

  private searchPersons(q: URLSearchParams): Answer {
    const term = (q.get('term') ?? '').trim();
    const exact = q.get('exact_match') === 'true';
    if (term.length < (exact ? 1 : 2)) return errorAnswer(400, 'Search term must be at least 2 characters long');
    const fields = (q.get('fields') ?? 'name,email,phone,notes,custom_fields').split(',');
    const lower = term.toLowerCase();
    const text = (s: string) => (exact ? s.toLowerCase() === lower : s.toLowerCase().includes(lower));
    const phone = (s: string) => !!digits(term) && (exact ? digits(s) === digits(term) : digits(s).includes(digits(term)));
    const at = Date.now();
    const items = this.persons
      .filter((p) => !p.is_deleted && p.searchable_at <= at)
      .map((p) => {
        const score = (fields.includes('email') && p.emails.some((e) => text(e.value)) ? 1 : 0)
          + (fields.includes('phone') && p.phones.some((x) => phone(x.value)) ? 1 : 0)
          + (fields.includes('name') && text(p.name) ? 0.5 : 0);
        return { p, score };
      })
      .filter((x) => x.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, Number(q.get('limit')) || 100)
      .map(({ p, score }) => {
        const org = this.organizations.find((o) => o.id === p.org_id);
        return {
          result_score: score,
          item: {
            id: p.id, type: 'person', name: p.name, phones: p.phones.map((x) => x.value), emails: p.emails.map((x) => x.value),
            visible_to: 3, owner: { id: p.owner_id }, organization: org ? { id: org.id, name: org.name, address: org.address?.value ?? null } : null,
            custom_fields: [], notes: [], update_time: p.update_time,
          },
        };
      });
    return ok({ items }, 200, { next_cursor: null });
  }

  private createOrganization(b: Record<string, unknown>): Answer {
    if (typeof b.name !== 'string' || !b.name.trim()) return errorAnswer(400, 'Validation failed: name: Parameter \'name\' is required');
    const address = b.address as { value?: unknown } | undefined;
    const o: FakeOrganization = {
      id: this.seq++, name: b.name.trim(), owner_id: (b.owner_id as number | undefined) ?? USER_ID,
      address: address && typeof address.value === 'string' ? { value: address.value } : null,
      custom_fields: (b.custom_fields as Record<string, unknown>) ?? {}, add_time: now(),
    };
    this.organizations.push(o);
    return ok({ ...o, is_deleted: false, visible_to: 3, label_ids: [] });
  }

  private createLead(b: Record<string, unknown>): Answer {
    if (typeof b.title !== 'string' || !b.title.trim()) return errorAnswer(400, 'Title is a required field');
    const personId = b.person_id ?? null;
    const orgId = b.organization_id ?? null;
    if (personId === null && orgId === null) return errorAnswer(400, 'A lead must be linked to a person or an organization');
    if (personId !== null && !this.persons.some((p) => p.id === personId && !p.is_deleted)) return errorAnswer(400, `Person with id ${String(personId)} does not exist`);
    const orgProblem = this.checkOrg(orgId, 'organization_id');
    if (orgProblem) return errorAnswer(400, orgProblem);
    const v = b.value as { amount?: unknown; currency?: unknown } | undefined;
    if (v !== undefined && v !== null && (typeof v.amount !== 'number' || (v.currency !== undefined && typeof v.currency !== 'string'))) {
      return errorAnswer(400, 'Value must be an object {amount: number, currency: string}');
    }
    const t = now();
    const lead: FakeLead = {
      id: randomUUID(), title: b.title.trim(), person_id: personId as number | null, organization_id: orgId as number | null,
      owner_id: (b.owner_id as number | undefined) ?? USER_ID, value: v ? { amount: v.amount as number, currency: (v.currency as string) ?? 'USD' } : null,
      label_ids: (b.label_ids as string[]) ?? [], expected_close_date: (b.expected_close_date as string) ?? null, add_time: t,
    };
    this.leads.push(lead);
    return ok({ ...lead, creator_id: USER_ID, source_name: 'API', origin: 'API', channel: null, is_archived: false, was_seen: false, update_time: t, visible_to: '3' }, 201);
  }

  private dealProblem(b: Record<string, unknown>): string | null {
    if (b.value !== undefined && typeof b.value !== 'number') return 'Validation failed: value: must be a number';
    if (b.status !== undefined && !['open', 'won', 'lost'].includes(String(b.status))) return 'Validation failed: status: must be one of open, won, lost';
    if (b.person_id !== undefined && !this.persons.some((p) => p.id === b.person_id && !p.is_deleted)) return `Person with id ${String(b.person_id)} does not exist`;
    return this.checkOrg(b.org_id, 'org_id');
  }

  private createDeal(b: Record<string, unknown>): Answer {
    if (typeof b.title !== 'string' || !b.title.trim()) return errorAnswer(400, 'Validation failed: title: Parameter \'title\' is required');
    const problem = this.dealProblem(b);
    if (problem) return errorAnswer(400, problem);
    const t = now();
    const d: FakeDeal = {
      id: this.seq++, title: b.title.trim(), value: (b.value as number) ?? 0, currency: (b.currency as string) ?? 'USD',
      person_id: (b.person_id as number) ?? null, org_id: (b.org_id as number) ?? null, pipeline_id: (b.pipeline_id as number) ?? 1,
      stage_id: (b.stage_id as number) ?? 1, status: (b.status as string) ?? 'open', lost_reason: null,
      owner_id: (b.owner_id as number) ?? USER_ID, expected_close_date: (b.expected_close_date as string) ?? null,
      custom_fields: (b.custom_fields as Record<string, unknown>) ?? {}, add_time: t, update_time: t,
    };
    this.deals.push(d);
    return ok(d);
  }

  private updateDeal(id: number, b: Record<string, unknown>): Answer {
    const d = this.deals.find((x) => x.id === id);
    if (!d) return errorAnswer(404, 'Deal not found');
    if (b.title !== undefined && (typeof b.title !== 'string' || !b.title.trim())) return errorAnswer(400, 'Validation failed: title: must be a non-empty string');
    const problem = this.dealProblem(b);
    if (problem) return errorAnswer(400, problem);
    const { custom_fields, ...rest } = b;
    Object.assign(d, rest, { update_time: now() }, custom_fields ? { custom_fields: { ...d.custom_fields, ...(custom_fields as object) } } : {});
    return ok(d);
  }

  private createActivity(b: Record<string, unknown>): Answer {
    if (typeof b.subject !== 'string' || !b.subject.trim()) return errorAnswer(400, 'Validation failed: subject: Parameter \'subject\' is required');
    const type = String(b.type ?? 'task');
    if (!ACTIVITY_TYPES.has(type)) return errorAnswer(400, `Activity type "${type}" does not exist`);
    if (b.due_date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(b.due_date))) return errorAnswer(400, 'Validation failed: due_date: must be YYYY-MM-DD');
    if (b.due_time !== undefined && !/^\d{2}:\d{2}$/.test(String(b.due_time))) return errorAnswer(400, 'Validation failed: due_time: must be HH:MM');
    if (b.deal_id !== undefined && !this.deals.some((d) => d.id === b.deal_id)) return errorAnswer(400, `Deal with id ${String(b.deal_id)} does not exist`);
    const participants = (b.participants as FakeActivity['participants'] | undefined) ?? [];
    const t = now();
    const a: FakeActivity = {
      id: this.seq++, subject: b.subject.trim(), type, due_date: (b.due_date as string) ?? null, due_time: (b.due_time as string) ?? null,
      duration: (b.duration as string) ?? null, participants, person_id: participants.find((x) => x.primary)?.person_id ?? participants[0]?.person_id ?? null,
      deal_id: (b.deal_id as number) ?? null, lead_id: (b.lead_id as string) ?? null, org_id: (b.org_id as number) ?? null,
      owner_id: (b.owner_id as number) ?? USER_ID, note: (b.note as string) ?? null, done: b.done === true, add_time: t,
    };
    this.activities.push(a);
    return ok(a);
  }
}
