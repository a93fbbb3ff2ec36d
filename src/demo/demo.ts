/**
 * `npm run demo`: the whole lead pipeline on this machine, without any account. Starts fake Bitrix24,
 * Telegram, SMS.ru and VoxImplant services on loopback, a Conveyor server with the watch shop's
 * processes connected to them, and feeds it a stream of leads the way a web shop posts them —
 * including a CRM outage in the middle — then shows every lead reaching the CRM once.
 *
 *   npm run demo                 # ~1 minute, then keeps running so you can look around (Ctrl+C ends)
 *   npm run demo -- --once       # exit after the summary
 *   npm run demo -- --leads 600 --rate 20 [--standard]   (--standard: a 2 requests/s portal)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startServer } from '../http/server.ts';
import { WatchShopServices } from './watch-shop-services.ts';

const { values: opt } = parseArgs({
  options: {
    leads: { type: 'string', default: '300' },
    rate: { type: 'string', default: '10' },
    port: { type: 'string', default: process.env.PORT ?? '8080' },
    once: { type: 'boolean', default: false },
    standard: { type: 'boolean', default: false },
  },
});
const LEADS = Number(opt.leads), RATE = Number(opt.rate);
const OUTAGE_FROM = Math.round(LEADS * 0.3), OUTAGE_TO = Math.round(LEADS * 0.6);

const say = (s: string) => console.log(s);
const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-demo-'));
// An Enterprise portal (5 requests/s, bursts of 250): every lead costs a partner lookup besides its share
// of a batched add, so at the standard plan's 2/s the demo's stream would queue for minutes (it would
// still all arrive; try --standard).
const standard = process.argv.includes('--standard');
const portal = standard ? { ratePerSecond: 2, burst: 50 } : { ratePerSecond: 5, burst: 250 };
const svc = await new WatchShopServices(portal).start();
svc.sms.balance = 1_000_000; // the fake account starts with 100 messages
const partner = svc.bitrix.addContact({ NAME: 'Watch Partner LLC', UTM_SOURCE: 'partner-7' });
// Every robot call is answered, except a few numbers that reach a voicemail.
svc.vox.autoAnswer(new Proxy({}, { get: (_t, phone: string) => (phone.endsWith('7') ? 'voicemail' : 'answered') }), 200);

const server = await startServer({
  dataDir, port: Number(opt.port), host: '127.0.0.1', apiKey: 'demo-key', masterKey: 'demo-master-key',
  logger: pino({ level: 'error' }), alertCheckMs: 5000,
});
const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(server.url + path, {
    method, headers: { authorization: 'Bearer demo-key', 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json() as Promise<any>;
};
for (const [connector, settings] of Object.entries(svc.connections())) {
  const pace = connector === 'bitrix24' ? { rate: portal.ratePerSecond, burst: portal.burst } : {};
  await api('PUT', `/api/v1/projects/default/connections/${connector}/default`, { settings: { ...settings, ...pace } });
}
await api('PUT', '/api/v1/projects/default/config', { seller_chat_id: '100', alerts: { telegram: { chat_id: '-1001' } } });
const access = await api('GET', '/api/v1/projects/default/processes/lead-intake/public-url');

say(`Conveyor demo — server ${server.url} (API key demo-key, docs ${server.url}/docs), data in ${dataDir}`);
say(`Fake services: Bitrix24 ${svc.bitrix.webhookUrl.replace(/\/rest\/.*/, '')} (${portal.ratePerSecond} requests/s, bursts of ${portal.burst}), Telegram, SMS.ru, VoxImplant`);
say(`Feeding ${LEADS} leads at ${RATE}/s to the public Corezoid-style URL; the CRM goes down for leads ${OUTAGE_FROM}–${OUTAGE_TO}.\n`);

const zones = ['Europe/Moscow', 'Asia/Novosibirsk', 'Europe/Kaliningrad', 'Asia/Vladivostok'];
let accepted = 0;
let refused = 0;
const status = async (label = '') => {
  const intake = (await api('GET', '/api/v1/projects/default/processes/lead-intake/stats')).nodes as Record<string, number>;
  const crm = (await api('GET', '/api/v1/projects/default/processes/create-lead/stats')).statuses as Record<string, number>;
  const robot = (await api('GET', '/api/v1/projects/default/processes/robot-call/stats')).nodes as Record<string, number>;
  say([
    `${label.padEnd(9)} accepted ${String(accepted).padStart(4)}`,
    `in Bitrix24 ${String(svc.bitrix.leads.length).padStart(4)}`,
    `waiting for the CRM ${String((crm.active ?? 0) + (crm.waiting ?? 0)).padStart(4)}`,
    `duplicates merged ${intake.duplicate ?? 0}`, `bad phones ${intake.bad_phone ?? 0}`,
    `calls ${svc.vox.calls.length}`, `SMS ${svc.sms.messages.length}`, `seller messages ${svc.telegram.messages.length}`,
    `robot calls done ${robot.done ?? 0}`,
  ].join(' · '));
};

let crmDown = false;
const ticker = setInterval(() => void status(crmDown ? 'CRM DOWN' : 'running').catch(() => {}), 2000);
const started = Date.now();
for (let i = 0; i < LEADS; i++) {
  if (i === OUTAGE_FROM) { svc.bitrix.down('503'); crmDown = true; say('--- Bitrix24 goes down (503) ---'); }
  if (i === OUTAGE_TO) { svc.bitrix.up(); crmDown = false; say('--- Bitrix24 is back ---'); }
  const wait = started + (i * 1000) / RATE - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // Every 10th lead repeats an earlier phone (a second form submit); every 50th has a bad phone.
  const n = i % 10 === 9 ? i - 5 : i;
  const digits = String(n).padStart(7, '0');
  const phone = i % 50 === 49 ? '+7 916 123 45 67 89' : `8 (916) ${digits.slice(0, 3)}-${digits.slice(3, 5)}-${digits.slice(5)}`;
  const res = await fetch(server.url + access.corezoidPath, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: JSON.stringify({ ops: [{ type: 'create', obj: 'task', conv_id: access.publicId, ref: `order-${i}`, data: {
      name: `Покупатель ${i}`, phone, city: 'Москва', timezone: zones[i % zones.length], utm_source: i % 3 ? 'partner-7' : 'direct',
    } }] }),
  });
  const answer = (await res.json()) as { ops: Array<{ proc: string }> };
  answer.ops[0].proc === 'ok' ? accepted++ : refused++;
}
say('--- all leads sent; waiting for the pipeline to settle ---');
// Settled when no lead is still on its way into the CRM (seller notices may still be queued: Telegram
// takes about one message a second per chat).
const BEFORE_CRM = ['find_partner', 'partner_lookup_failed', 'normalize_phone', 'check_phone', 'dedupe', 'create_lead', 'crm_unavailable'];
for (let quiet = 0; quiet < 2; ) {
  await new Promise((r) => setTimeout(r, 2000));
  const intake = (await api('GET', '/api/v1/projects/default/processes/lead-intake/stats')).nodes as Record<string, number>;
  quiet = BEFORE_CRM.every((n) => !intake[n]) ? quiet + 1 : 0;
}
clearInterval(ticker);
await status('settled');
const titles = svc.bitrix.leads.map((l) => String((l.PHONE as Array<{ VALUE: string }>)[0].VALUE));
const failed = (await api('GET', '/api/v1/projects/default/processes/lead-intake/tasks?status=failed')).tasks.length;
say(`\nSummary: ${accepted} leads accepted (${refused} refused) · ${svc.bitrix.leads.length} in Bitrix24, ${new Set(titles).size} distinct phones, ` +
  `${titles.length - new Set(titles).size} duplicates in the CRM · ${failed} parked failed · partner #${partner} assigned to ${svc.bitrix.leads.filter((l) => String(l.ASSIGNED_BY_ID) === String(partner)).length} leads`);
say(`Bitrix24 saw ${svc.bitrix.requests} requests (${svc.bitrix.byMethod.get('batch') ?? 0} of them batches of up to 50 leads).`);
const alerts = await api('GET', '/api/v1/projects/default/alerts');
if (alerts.events.length) say(`Alerts sent to the ops chat: ${alerts.events.map((e: any) => `${e.state} ${e.process} ${e.rule}`).join('; ')}`);

if (opt.once) {
  await server.close();
  await svc.close();
  rmSync(dataDir, { recursive: true, force: true });
} else {
  say(`\nStill running: try  npx conveyor --url ${server.url} --key demo-key stats lead-intake  or open ${server.url}/docs. Ctrl+C ends.`);
  process.once('SIGINT', async () => {
    await server.close();
    await svc.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}
