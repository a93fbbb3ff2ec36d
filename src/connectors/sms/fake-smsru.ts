import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer, readBody } from '../loopback-server.ts';

/** How the fake is down: a 503 page, a 200 maintenance page, no answer, a cut connection. */
export type SmsRuDownMode = 'outage' | 'maintenance' | 'hang' | 'reset';

export interface SmsRuMessage {
  sms_id: string;
  to: string;
  text: string;
  from?: string;
  test: boolean;
  status_code: number;
}

/** SMS.ru's own wording of its codes (what `status_text` carries). */
export const SMSRU_TEXTS: Record<number, string> = {
  [-1]: 'Сообщение не найдено',
  100: 'Сообщение находится в нашей очереди',
  101: 'Сообщение передается оператору',
  102: 'Сообщение отправлено (в пути)',
  103: 'Сообщение доставлено',
  104: 'Не может быть доставлено: время жизни истекло',
  105: 'Не может быть доставлено: удалено оператором',
  106: 'Не может быть доставлено: сбой в телефоне',
  107: 'Не может быть доставлено: неизвестная причина',
  108: 'Не может быть доставлено: отклонено',
  110: 'Сообщение прочитано',
  150: 'Не может быть доставлено: не найден маршрут на данный номер',
  200: 'Неправильный api_id',
  201: 'Не хватает средств на лицевом счету',
  202: 'Неправильно указан номер телефона получателя, либо на него нет маршрута',
  203: 'Нет текста сообщения',
  204: 'Имя отправителя не согласовано с администрацией',
  205: 'Сообщение слишком длинное (превышает 8 СМС)',
  206: 'Будет превышен или уже превышен дневной лимит на отправку сообщений',
  207: 'На этот номер нельзя отправлять сообщения',
  208: 'Параметр time указан неправильно',
  209: 'Вы добавили этот номер (или один из номеров) в стоп-лист',
  220: 'Сервис временно недоступен, попробуйте чуть позже',
  230: 'Превышен общий лимит количества сообщений на этот номер в день',
  231: 'Превышен лимит одинаковых сообщений на этот номер в минуту',
  232: 'Превышен лимит одинаковых сообщений на этот номер в день',
  500: 'Ошибка на сервере. Повторите запрос.',
};

/**
 * SMS.ru on 127.0.0.1 for tests and the demo: `/sms/send` and `/sms/status`, GET or form POST, JSON
 * with `json=1` (plain lines otherwise), errors as SMS.ru gives them: HTTP 200 with `"status": "ERROR"`
 * for the request or for one number.
 */
export class FakeSmsRu {
  readonly messages: SmsRuMessage[] = [];
  /** Every request's parameters (api_id included: assert on what was sent, never log these). */
  readonly requests: Array<{ path: string; params: Record<string, string> }> = [];
  balance = 100;
  private readonly http = new LoopbackServer((req, res) => void this.handle(req, res));
  private readonly numberCodes = new Map<string, number>();
  private readonly nextErrors: number[] = [];
  private mode: SmsRuDownMode | null = null;
  private seq = 0;

  constructor(readonly apiId = '00000000-FAKE-4E7D-82EE-CF82B52B1A8B') {}

  async start(): Promise<string> {
    return this.http.start();
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** Sends to this number fail with `code` (202, 207, 209, 230…) in the number's own status. */
  failNumber(phone: string, code: number): void {
    this.numberCodes.set(phone.replace(/\D/g, ''), code);
  }

  /** The next `count` requests fail as a whole with `code` (200, 201, 206, 220…). */
  failNext(code: number, count = 1): void {
    for (let i = 0; i < count; i++) this.nextErrors.push(code);
  }

  /** Moves a message on (103 delivered, 104–108 not delivered). */
  setStatus(smsId: string, code: number): void {
    const m = this.messages.find((x) => x.sms_id === smsId);
    if (!m) throw new Error(`no message ${smsId}`);
    m.status_code = code;
  }

  down(mode: SmsRuDownMode = 'outage'): void {
    this.mode = mode;
  }

  up(): void {
    this.mode = null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (raw === null) return;
    if (this.mode === 'hang') return;
    if (this.mode === 'reset') return void req.socket.destroy();
    if (this.mode === 'outage') return send(res, 503, '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>', 'text/html');
    if (this.mode === 'maintenance') return send(res, 200, '<html><body>Технические работы</body></html>', 'text/html; charset=utf-8');

    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const params = { ...Object.fromEntries(url.searchParams), ...Object.fromEntries(new URLSearchParams(raw)) };
    this.requests.push({ path: url.pathname, params });
    const asJson = params.json === '1';
    const answer = (body: Record<string, unknown>, lines: Array<string | number>) =>
      asJson ? send(res, 200, JSON.stringify(body), 'application/json') : send(res, 200, lines.join('\n'), 'text/plain; charset=utf-8');
    const error = (code: number) => answer({ status: 'ERROR', status_code: code, status_text: SMSRU_TEXTS[code] ?? 'Ошибка' }, [code]);

    if (url.pathname !== '/sms/send' && url.pathname !== '/sms/status') return send(res, 404, '<html><body>404 Not Found</body></html>', 'text/html');
    if (params.api_id !== this.apiId) return error(200);
    const queued = this.nextErrors.shift();
    if (queued !== undefined) return error(queued);

    if (url.pathname === '/sms/status') {
      const sms: Record<string, unknown> = {};
      for (const id of String(params.sms_id ?? '').split(',').filter(Boolean)) {
        const m = this.messages.find((x) => x.sms_id === id);
        sms[id] = m
          ? { status: 'OK', status_code: m.status_code, status_text: SMSRU_TEXTS[m.status_code] ?? '', cost: m.test ? '0' : '1.00', sms: 1 }
          : { status: 'ERROR', status_code: -1, status_text: SMSRU_TEXTS[-1] };
      }
      const first = Object.values(sms)[0] as { status_code?: number } | undefined;
      return answer({ status: 'OK', status_code: 100, sms, balance: this.balance }, [100, first?.status_code ?? -1]);
    }

    const text = params.msg ?? params.text ?? '';
    const numbers = String(params.to ?? '').split(',').map((n) => n.trim()).filter(Boolean);
    if (!numbers.length) return error(202);
    if (!text.trim()) return error(203);
    if ([...text].length > 8 * 70) return error(205);
    const test = params.test === '1';
    if (!test && this.balance < numbers.length) return error(201);
    const sms: Record<string, unknown> = {};
    const ids: string[] = [];
    for (const to of numbers) {
      const code = this.numberCodes.get(to) ?? (/^\d{10,15}$/.test(to) ? 100 : 202);
      if (code !== 100) {
        sms[to] = { status: 'ERROR', status_code: code, status_text: SMSRU_TEXTS[code] ?? 'Ошибка' };
        continue;
      }
      const id = `202501-${1_000_000 + ++this.seq}`; // SMS.ru's shape: yyyymm-serial
      this.messages.push({ sms_id: id, to, text, test, status_code: 100, ...(params.from && { from: params.from }) });
      if (!test) this.balance -= 1;
      sms[to] = { status: 'OK', status_code: 100, sms_id: id };
      ids.push(id);
    }
    return answer({ status: 'OK', status_code: 100, sms, balance: this.balance }, [100, ...ids, `balance=${this.balance}`]);
  }
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
