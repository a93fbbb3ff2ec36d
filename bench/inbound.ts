/**
 * Inbound chatbot messages against a real server process: a Telegram bot connection in webhook mode
 * (with its secret token), a funnel whose trigger matches the message and whose first step is
 * chat.send, and real-shaped Telegram updates from distinct people POSTed to the webhook. A message
 * counts once its reply reaches the fake Bot API's sendMessage. Telegram's own send limits are set
 * aside: the connection's rate is raised so that the engine's pacing is not what is measured.
 */
import { Pool } from 'undici';
import { FakeTelegram } from '../src/connectors/telegram/fake-telegram.ts';
import { messageUpdate } from '../src/connectors/telegram/fake-telegram-updates.ts';
import { BenchServer } from './bench-server.ts';

const CONNECTION = 'bench-bot';
const TEXT = 'Здравствуйте! Хочу узнать про курс';
/** Simultaneous webhook deliveries, as Telegram's default max_connections. */
const DELIVERIES = 40;

export interface InboundFigures {
  /** Messages per second from webhook POST to the reply arriving at sendMessage, sustained. */
  inbound_per_s: number;
  /** p99 from the webhook POST to the reply arriving at sendMessage, at a moderate rate. */
  p99_trigger_to_reply_ms: number;
}

export async function benchInbound(opts: { messages?: number; rate?: number; seconds?: number; log?: (s: string) => void } = {}): Promise<InboundFigures> {
  const MESSAGES = opts.messages ?? 10_000;
  const RATE = opts.rate ?? 500;
  const SECONDS = opts.seconds ?? 5;
  const log = opts.log ?? (() => undefined);
  const server = await BenchServer.start();
  const tg = new FakeTelegram('987654321:BenchBotToken_abcdefghijklmnopq');
  const apiUrl = await tg.start();
  let hooks: Pool | null = null;
  try {
    await server.call('PUT', `/api/v1/projects/default/connections/telegram/${CONNECTION}`, {
      settings: { bot_token: tg.token, api_url: apiUrl, rate: 10_000, burst: 10_000 },
    });
    const { url } = await server.call('POST', `/api/v1/projects/default/connections/telegram/${CONNECTION}/webhook`, {});
    // The secret token as Telegram got it in setWebhook, and sends back in every delivery.
    const secret = String(tg.calls.find((c) => c.method === 'setWebhook')!.params.secret_token);
    await server.deploy({
      name: 'inbound-bench',
      triggers: [{ on: 'message', bots: [CONNECTION], match: { mode: 'contains', value: 'курс' } }],
      nodes: { hello: { type: 'chat.send', text: 'Привет, {{name}}! Вот программа курса.', next: 'end' }, end: { type: 'final' } },
    });

    const path = new URL(url).pathname;
    hooks = new Pool(server.url, { connections: DELIVERIES });
    let updateId = 800_000_000;
    /** POSTs one person's message as Telegram would; resolves with the time of the 200. */
    const deliver = async (userId: number): Promise<number> => {
      const res = await hooks!.request({
        method: 'POST', path, body: JSON.stringify({ update_id: updateId++, ...messageUpdate(userId, TEXT) }),
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
      });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`webhook answered ${res.statusCode}`);
      return Date.now();
    };
    // The fake notes every call with its time: the reply to a person is the sendMessage to their chat.
    let seen = 0;
    const replies = new Map<string, number>();
    const replyAt = () => {
      for (; seen < tg.calls.length; seen++) {
        const c = tg.calls[seen];
        if (c.method === 'sendMessage' && !replies.has(String(c.params.chat_id))) replies.set(String(c.params.chat_id), c.at);
      }
      return replies;
    };
    const repliedAll = async (users: number[], timeoutMs = 120_000) => {
      const end = Date.now() + timeoutMs;
      while (!users.every((u) => replyAt().has(String(u)))) {
        if (Date.now() > end) throw new Error(`${users.filter((u) => !replies.has(String(u))).length} of ${users.length} messages got no reply in time`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

    // Warm-up (JIT, keep-alive connections both ways), not measured.
    const warm = range(1_000_000, 1000);
    await flood(warm, deliver);
    await repliedAll(warm);

    // (a) Sustained: as fast as the server takes deliveries on DELIVERIES connections.
    const flooders = range(2_000_000, MESSAGES);
    const t0 = Date.now();
    await flood(flooders, deliver);
    const acceptedIn = Date.now() - t0;
    await repliedAll(flooders);
    const lastReply = Math.max(...flooders.map((u) => replies.get(String(u))!));
    const inboundPerS = Math.round(MESSAGES / ((lastReply - t0) / 1000));
    log(`inbound messages:    ${inboundPerS}/s webhook → reply sent (${MESSAGES} people, ${DELIVERIES} deliveries at once; accepted at ${Math.round(MESSAGES / (acceptedIn / 1000))}/s)`);

    // (b) Webhook acknowledgement → first reply at a moderate steady rate, after 1 s of warm-up.
    const acked = new Map<number, number>();
    const posted = new Map<number, number>();
    const pending: Promise<unknown>[] = [];
    const steady = range(3_000_000, RATE * (SECONDS + 1));
    const start = performance.now();
    for (let i = 0; i < steady.length; i++) {
      const wait = start + (i * 1000) / RATE - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      posted.set(steady[i], Date.now());
      pending.push(deliver(steady[i]).then((at) => acked.set(steady[i], at)));
    }
    await Promise.all(pending);
    await repliedAll(steady);
    // From the webhook POST (the event stored, its fsync included) to the reply; from the 200 as well.
    const quantiles = (from: Map<number, number>) => {
      const lat = steady.slice(RATE).map((u) => replies.get(String(u))! - from.get(u)!).sort((a, b) => a - b);
      return (f: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * f))];
    };
    const q = quantiles(posted);
    const qa = quantiles(acked);
    log(`webhook → reply:     p50 ${q(0.5)} ms, p99 ${q(0.99)} ms from the POST; p99 ${qa(0.99)} ms from its 200 (at ${RATE} messages/s for ${SECONDS} s, after 1 s of warm-up)`);
    return { inbound_per_s: inboundPerS, p99_trigger_to_reply_ms: q(0.99) };
  } finally {
    await hooks?.close();
    await server.stop();
    await tg.close();
  }
}

/** Delivers to every user, DELIVERIES at a time. */
async function flood(users: number[], deliver: (u: number) => Promise<number>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: DELIVERIES }, async () => {
    while (next < users.length) await deliver(users[next++]);
  }));
}
