import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeLlm } from '../../src/connectors/llm/fake-llm.ts';
import { LEAD_SCHEMA, type Lead } from '../../src/connectors/llm/lead-schema.ts';
import { extractLeadByRules, extractLeadNode, llmConnector } from '../../src/connectors/llm/llm-connector.ts';
import type { Connection } from '../../src/connectors/connector.ts';
import type { Outcome } from '../../src/engine/node-type.ts';
import { createHttpClient } from '../../src/util/http-client.ts';
import { MemoryConnections, nodeContext } from '../support/node-context.ts';

const lead = (fields: Partial<Lead>): Lead => ({
  name: null, phone: null, email: null, service: null, preferred_time: null, city: null, comment: null, ...fields,
});

describe('extractLeadByRules (Russian first messages)', () => {
  it.each<[string, Lead]>([
    [
      'Здравствуйте! Меня зовут Анна, хочу записаться на маникюр в субботу, мой номер 8 (916) 123-45-67',
      lead({ name: 'Анна', phone: '+79161234567', service: 'маникюр', preferred_time: 'в субботу' }),
    ],
    [
      'Добрый день, это Игорь из Твери, перезвоните после 18: +7 999 000-11-22, igor@mail.ru',
      lead({ name: 'Игорь', phone: '+79990001122', email: 'igor@mail.ru', preferred_time: 'после 18', city: 'Тверь' }),
    ],
    [
      'Здравствуйте, я Ольга. Хотела бы записаться на стрижку и окрашивание завтра утром. Телефон 9161234567',
      lead({ name: 'Ольга', phone: '+79161234567', service: 'стрижка и окрашивание', preferred_time: 'завтра утром' }),
    ],
    [
      'Анна, добрый день! Можно записаться к косметологу на чистку лица с 10 до 12 в пятницу? +7(903)555-12-34',
      lead({ name: 'Анна', phone: '+79035551234', service: 'чистка лица', preferred_time: 'с 10 до 12 в пятницу' }),
    ],
    [
      'Добрый вечер. Интересует гигиеническая чистка зубов. Пишите на Maria.Ivanova@Yandex.ru\nС уважением, Мария Иванова',
      lead({ name: 'Мария Иванова', email: 'maria.ivanova@yandex.ru', service: 'гигиеническая чистка зубов' }),
    ],
    [
      'Привет! Нужна консультация по ремонту кухни в Москве, звоните в любое время 8-926-111-22-33',
      lead({ phone: '+79261112233', service: 'консультация по ремонту кухни', preferred_time: 'в любое время', city: 'Москва' }),
    ],
    [
      'Хочу заказать торт на день рождения на 15 марта. Я из Новосибирска. Евгений, 89031234567',
      lead({ name: 'Евгений', phone: '+79031234567', service: 'торт на день рождения', preferred_time: '15 марта', city: 'Новосибирск' }),
    ],
    [
      'Добрый день! Запишите меня, пожалуйста, к неврологу на следующей неделе. Тел.: +7 912 345 67 89. Пётр',
      lead({ name: 'Пётр', phone: '+79123456789', service: 'невролог', preferred_time: 'на следующей неделе' }),
    ],
    [
      'Здравствуйте, есть свободные окна на эпиляцию в эту субботу? Елена, +7 916 000 00 01. Подойдёт ли мне при загаре?',
      lead({ name: 'Елена', phone: '+79160000001', service: 'эпиляция', preferred_time: 'в эту субботу', comment: 'Подойдёт ли мне при загаре?' }),
    ],
    [
      'Меня зовут Анна Петрова, в 2025 году переезжаю в г. Дубна, нужна генеральная уборка квартиры',
      lead({ name: 'Анна Петрова', service: 'генеральная уборка квартиры', city: 'Дубна' }),
    ],
    [
      'Сколько стоит доставка до 5 тысяч рублей? Спасибо',
      lead({ service: 'доставка до 5 тысяч рублей' }),
    ],
    ['у меня вопрос по оплате', lead({ comment: 'у меня вопрос по оплате' })],
    ['', lead({})],
  ])('%s', (text, expected) => {
    expect(extractLeadByRules(text)).toEqual(expected);
  });

  it('keeps the first of two numbers', () => {
    expect(extractLeadByRules('звоните 8 916 123 45 67 или 8 903 000 11 22').phone).toBe('+79161234567');
  });

  it('reads by its own scan a number libphonenumber\'s range check refuses (an unassigned range)', () => {
    expect(extractLeadByRules('мой телефон +7 (600) 123-45-67, жду звонка').phone).toBe('+76001234567');
  });
});

const fake = new FakeLlm({ models: ['gpt-4o-mini', 'gpt-3.5-turbo'] });
const http = createHttpClient();
let apiUrl = '';
const MESSAGE = 'Здравствуйте! Меня зовут Анна, хочу записаться на маникюр в субботу, мой номер 8 (916) 123-45-67';

beforeAll(async () => {
  apiUrl = await fake.start();
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake.close();
  await http.close();
});

type Detailed = Outcome & { detail?: Record<string, any>; patch?: Record<string, any> };

async function extract(node: Record<string, unknown>, settings: Record<string, unknown> | null = {}, data: Record<string, unknown> = { message: MESSAGE }) {
  const slowed: Array<{ key: string; ms: number }> = [];
  const list: Connection[] = settings ? [{ name: 'default', connector: 'llm', settings: { api_url: apiUrl, api_key: fake.apiKey, model: 'gpt-4o-mini', ...settings } }] : [];
  const ctx = nodeContext({ type: 'llm.extract_lead', text: '{{message}}', next: 'done', ...node }, { connections: new MemoryConnections(list), http, slowed, data });
  const pace = extractLeadNode.pace!(ctx);
  const before = Date.now();
  const outcome = (await extractLeadNode.run(ctx)) as Detailed;
  return { outcome, slowed, pace, before, after: Date.now() };
}

function expectNoKey(outcome: unknown, key = fake.apiKey) {
  expect(JSON.stringify(outcome)).not.toContain(key);
}

describe('llm.extract_lead against an OpenAI-compatible server', () => {
  it('asks the model with the lead schema and merges its lead, normalized', async () => {
    const { outcome, pace } = await extract({});
    expect(outcome).toMatchObject({
      kind: 'go', to: 'done',
      patch: { lead_source: 'llm', lead: { name: 'Анна', phone: '+79161234567', service: 'маникюр', preferred_time: 'в субботу' } },
    });
    expect(pace).toEqual({ key: 'llm:default', perSecond: 3, burst: 5 });
    const sent = fake.requests.at(-1)!;
    expect(sent.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(sent.body).toMatchObject({
      model: 'gpt-4o-mini', temperature: 0,
      messages: [{ role: 'system' }, { role: 'user', content: MESSAGE }],
      response_format: { type: 'json_schema', json_schema: { name: 'lead', schema: LEAD_SCHEMA, strict: true } },
    });
    expect(outcome.detail).toMatchObject({
      lead_source: 'llm', model: 'gpt-4o-mini', usage: { total_tokens: expect.any(Number) },
      request: { method: 'POST', url: `${apiUrl}/v1/chat/completions`, headers: { authorization: '***' } },
      response: { status: 200 },
    });
    // The schema is the same every time: history names it instead of repeating it.
    expect(outcome.detail!.request.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'lead', strict: true } });
    expectNoKey(outcome);
  });

  it('normalizes the model\'s phone and email and drops ones the message never had', async () => {
    const answer = lead({ name: ' Анна ', phone: '8 (916) 123-45-67', email: 'Anna@Mail.RU', service: 'маникюр', city: '' });
    fake.script(answer, { ...answer, phone: '+7 900 000-00-00', email: 'invented@example.com' });
    const text = 'Анна, маникюр, 8 (916) 123-45-67, anna@mail.ru';
    const first = await extract({}, {}, { message: text });
    expect(first.outcome.patch!.lead).toEqual(lead({ name: 'Анна', phone: '+79161234567', email: 'anna@mail.ru', service: 'маникюр' }));
    const second = await extract({}, {}, { message: text });
    expect(second.outcome.patch!.lead).toMatchObject({ phone: null, email: null, name: 'Анна' });
    expect(second.outcome.detail!.dropped).toEqual(['phone', 'email']);
  });

  it('adds the node\'s instructions to the system message and keeps the result under save_as', async () => {
    fake.answerWith((text, req) => ({ ...extractLeadByRules(text), comment: String(req.messages?.[0]?.content).includes('Our services') ? 'saw instructions' : null }));
    const { outcome } = await extract({ instructions: 'Our services: {{services}}', save_as: 'first_contact' }, {}, { message: MESSAGE, services: 'маникюр, педикюр' });
    expect(fake.requests.at(-1)!.body.messages![0].content).toMatch(/\n\nOur services: маникюр, педикюр$/);
    expect(outcome.patch).toEqual({ first_contact: { lead_source: 'llm', lead: expect.objectContaining({ name: 'Анна', comment: 'saw instructions' }) } });
  });

  it('works with a local server that needs no key, and an api_url ending in /v1', async () => {
    const local = new FakeLlm({ apiKey: '' });
    const url = await local.start();
    try {
      const { outcome } = await extract({}, { api_url: `${url}/v1/`, api_key: undefined });
      expect(outcome).toMatchObject({ kind: 'go', patch: { lead_source: 'llm', lead: { name: 'Анна' } } });
      expect(local.requests[0].authorization).toBeUndefined();
    } finally {
      await local.close();
    }
  });

  it('429 retries after Retry-After and slows the connection down', async () => {
    fake.rateLimit(7);
    const { outcome, slowed, before, after } = await extract({});
    expect(outcome.kind).toBe('retry');
    if (outcome.kind !== 'retry') return;
    expect(outcome.at).toBeGreaterThanOrEqual(before + 7000);
    expect(outcome.at).toBeLessThanOrEqual(after + 7000);
    expect(outcome.error).toContain('rate_limit_exceeded');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code: 'rate_limit_exceeded', response: { status: 429 } });
    expect(slowed).toEqual([{ key: 'llm:default', ms: 7000 }]);
    expectNoKey(outcome);
  });

  it('429 insufficient_quota fails: waiting will not pay the bill', async () => {
    fake.quotaExceeded();
    const { outcome, slowed } = await extract({});
    expect(outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 'insufficient_quota' } });
    expect(slowed).toEqual([]);
  });

  it.each([
    ['outage', 500],
    ['overloaded', 503],
  ] as const)('%s (%i) is retried', async (mode, status) => {
    fake.down(mode);
    const { outcome, slowed } = await extract({});
    expect(outcome.kind).toBe('retry');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code: 'server_error', response: { status } });
    expect(slowed).toEqual([]);
    expectNoKey(outcome);
  });

  it('no answer within the node timeout is retried', async () => {
    fake.down('hang');
    const { outcome } = await extract({ timeout: '200ms' });
    expect(outcome.kind).toBe('retry');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code: 'timeout' });
    expectNoKey(outcome);
  });

  it('a cut connection is retried', async () => {
    fake.down('reset');
    const { outcome } = await extract({});
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 'network' } });
  });

  it('a wrong key (401) fails, and neither key shows anywhere', async () => {
    const wrong = 'sk-wrong-Key-0123456789abcdefghijkl';
    const { outcome } = await extract({}, { api_key: wrong });
    expect(outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 'invalid_api_key', response: { status: 401 }, request: { headers: { authorization: '***' } } } });
    if (outcome.kind === 'fail') expect(outcome.error).toContain('Incorrect API key provided');
    expectNoKey(outcome, wrong);
    expectNoKey(outcome);
  });

  it('403 (region not supported) fails', async () => {
    fake.forbid();
    const { outcome } = await extract({});
    expect(outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 'unsupported_country_region_territory', response: { status: 403 } } });
  });

  it('400 (a model without structured outputs) and 404 (an unknown model) fail', async () => {
    const old = await extract({}, { model: 'gpt-3.5-turbo' });
    expect(old.outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', response: { status: 400 } } });
    if (old.outcome.kind === 'fail') expect(old.outcome.error).toContain("'response_format' of type 'json_schema' is not supported");
    const unknown = await extract({}, { model: 'gpt-5-imaginary' });
    expect(unknown.outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 'model_not_found', response: { status: 404 } } });
  });

  it('an answer that is not JSON falls back to the rules, noting llm_error', async () => {
    fake.invalidContent();
    const { outcome } = await extract({});
    expect(outcome).toMatchObject({ kind: 'go', to: 'done', patch: { lead_source: 'rules', lead: extractLeadByRules(MESSAGE) } });
    expect(outcome.patch!.llm_error).toMatch(/^not JSON: Конечно!/);
    expect(outcome.detail).toMatchObject({ lead_source: 'rules', response: { status: 200 } });
  });

  it.each([
    ['JSON that misses fields', () => fake.script({ name: 'Анна', phone: '89161234567' }), /does not fit the lead schema: email: is missing/],
    ['JSON with a wrong type', () => fake.script({ ...lead({}), phone: 79161234567 }), /phone: must be string,null/],
    ['an answer cut at the token limit', () => fake.truncated(), /not JSON \(cut at the token limit\)/],
    ['a refusal', () => fake.refuse(), /the model refused/],
  ])('%s falls back too', async (_what, arrange, error) => {
    arrange();
    const { outcome } = await extract({});
    expect(outcome).toMatchObject({ kind: 'go', patch: { lead_source: 'rules', lead: { name: 'Анна' } } });
    expect(outcome.patch!.llm_error).toMatch(error);
  });

  it('an answer that is not a lead fails when fallback is off', async () => {
    fake.invalidContent();
    const { outcome } = await extract({ fallback: false });
    expect(outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 'invalid_answer', response: { status: 200 } } });
    if (outcome.kind === 'fail') expect(outcome.error).toMatch(/^the model's answer is not a lead: not JSON/);
    expectNoKey(outcome);
  });
});

describe('llm.extract_lead without a model', () => {
  it('reads the text by rules when the project has no llm connection, and is not paced', async () => {
    const calls = fake.requests.length;
    const { outcome, pace } = await extract({}, null);
    expect(pace).toBeUndefined();
    expect(outcome).toMatchObject({ kind: 'go', to: 'done', patch: { lead_source: 'rules', lead: { name: 'Анна', phone: '+79161234567', service: 'маникюр' } } });
    expect(outcome.detail).toMatchObject({ lead_source: 'rules', reason: expect.stringContaining('not set up') });
    expect(fake.requests.length).toBe(calls);
  });

  it('reads by rules when the connection has no api_url', async () => {
    const { outcome, pace } = await extract({ save_as: 'contact' }, { api_url: '' });
    expect(pace).toBeUndefined();
    expect(outcome).toMatchObject({ kind: 'go', patch: { contact: { lead_source: 'rules', lead: { preferred_time: 'в субботу' } } } });
  });

  it('does not ask the model about an empty message', async () => {
    const calls = fake.requests.length;
    const { outcome } = await extract({}, {}, { message: '  ' });
    expect(outcome).toMatchObject({ kind: 'go', patch: { lead_source: 'rules', lead: lead({}) }, detail: { reason: 'the text is empty' } });
    expect(fake.requests.length).toBe(calls);
  });

  it('fails without a model when fallback is off', async () => {
    const { outcome } = await extract({ fallback: 'false' }, null);
    expect(outcome.kind).toBe('fail');
    if (outcome.kind === 'fail') expect(outcome.error).toContain('fallback is off');
  });
});

describe('llm connector', () => {
  it('declares its settings, secret and pace, and describes every param', () => {
    expect(llmConnector.name).toBe('llm');
    expect(llmConnector.secretFields).toEqual(['api_key']);
    expect(llmConnector.pace).toEqual({ perSecond: 3, burst: 5 });
    expect(Object.keys(llmConnector.settingsSchema.properties as object)).toEqual(['api_url', 'api_key', 'model']);
    expect(llmConnector.nodeTypes.map((t) => t.type)).toEqual(['llm.extract_lead']);
    const props = extractLeadNode.paramsSchema.properties as Record<string, { description?: string }>;
    for (const p of ['connection', 'text', 'instructions', 'fallback', 'save_as', 'timeout', 'retry']) expect(props[p]?.description).toBeTruthy();
    expect(extractLeadNode.check!({ type: 'llm.extract_lead', timeout: 'soon', retry: { attempts: 0 } } as never)).toHaveLength(2);
    const ctx = nodeContext({ type: 'llm.extract_lead', next: 'done', connection: 'local' }, {
      connections: new MemoryConnections([{ name: 'local', connector: 'llm', settings: { api_url: apiUrl, model: 'qwen', rate: 1 } }]),
    });
    expect(extractLeadNode.pace!(ctx)).toEqual({ key: 'llm:local', perSecond: 1, burst: 5 });
  });
});
