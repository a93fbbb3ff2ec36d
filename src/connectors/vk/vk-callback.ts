import { createHash, timingSafeEqual } from 'node:crypto';
import type { InboundEvent } from '../../funnels/inbound-event.ts';
import { maskValue } from '../../util/mask-secrets.ts';
import { buttonPayload } from './vk-keyboard.ts';

export interface VkCallbackSettings {
  group_id: string | number;
  /** The Callback API secret key; without one every event is refused (anyone could post events). */
  secret?: string;
  /** The string VK shows on the Callback API page, answered to `type: confirmation`. */
  confirmation?: string;
}

export interface VkCallbackAnswer {
  /** HTTP status to answer VK with. */
  status: number;
  /** Plain-text body: `ok`, the confirmation string, or a short refusal. */
  answer: string;
  event?: InboundEvent;
  /** The body VK posted, secret masked, to keep beside the event for audits. */
  raw?: unknown;
  /** Why the call was refused (for logs; never contains the secret). */
  error?: string;
}

/**
 * One Callback API call (VK POSTs `{type, object, group_id, event_id, v, secret}`) → what to answer and
 * the inbound event it carries. Pure: storing the event durably before answering is the caller's job.
 *
 * Statuses: VK treats anything but `200 ok` as undelivered and posts the event again (a few times,
 * then it may switch the server off). So a refusal is not `ok`:
 * - 403 for a wrong or missing secret, a connection with no secret, or another community's event:
 *   a forger gets nothing, and if our own settings are wrong VK keeps the event until they are fixed;
 * - 400 for a body that is not a Callback API call at all.
 * Events we do not turn into funnel events are still answered `ok`, so VK does not retry them.
 */
export function handleVkCallback(body: unknown, settings: VkCallbackSettings, opts: { now?: number } = {}): VkCallbackAnswer {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== 'object' || Array.isArray(b) || typeof b.type !== 'string' || !b.type) {
    return refuse(400, 'not a Callback API call: no type');
  }
  const groupId = String(settings.group_id ?? '');
  if (String(b.group_id ?? '') !== groupId || !groupId) return refuse(403, `the event is for community ${String(b.group_id ?? '(none)')}, not ${groupId || '(not set)'}`);
  const raw = maskValue(b);

  if (b.type === 'confirmation') {
    // VK may send the secret with the confirmation request; when it does, it must match. The string
    // itself only proves to VK that this URL answers for the community, so no secret is needed yet.
    if (b.secret !== undefined && !sameSecret(b.secret, settings.secret)) return refuse(403, 'wrong secret key');
    if (!settings.confirmation) return refuse(403, 'the connection has no confirmation string');
    return { status: 200, answer: settings.confirmation, raw };
  }
  if (!settings.secret) return refuse(403, 'the connection has no Callback API secret key; events are refused');
  if (b.secret === undefined || b.secret === null || b.secret === '') return refuse(403, 'no secret key in the event');
  if (!sameSecret(b.secret, settings.secret)) return refuse(403, 'wrong secret key');

  const event = toInbound(b, groupId, opts.now ?? Date.now());
  return { status: 200, answer: 'ok', raw, ...(event && { event }) };
}

function refuse(status: number, error: string): VkCallbackAnswer {
  return { status, answer: status === 403 ? 'forbidden' : 'bad request', error };
}

/** Constant-time comparison: the secret is not guessable a character at a time. */
function sameSecret(got: unknown, want: string | undefined): boolean {
  if (typeof got !== 'string' || !want) return false;
  const a = createHash('sha256').update(got).digest();
  const b = createHash('sha256').update(want).digest();
  return timingSafeEqual(a, b);
}

type Obj = Record<string, unknown>;

function toInbound(b: Obj, botId: string, now: number): InboundEvent | undefined {
  const object = (b.object && typeof b.object === 'object' ? b.object : {}) as Obj;
  const base = { platform: 'vk' as const, botId, eventId: eventIdOf(b) };
  const userOnly = (kind: InboundEvent['kind'], extra: Partial<InboundEvent> = {}): InboundEvent | undefined => {
    const user = idOf(object.user_id);
    return user ? { ...base, kind, userId: user, chatId: user, at: now, ...extra } : undefined;
  };
  switch (b.type) {
    case 'message_new': {
      // Since API 5.103 the message is wrapped: {message, client_info}; older versions send it bare.
      const m = (object.message && typeof object.message === 'object' ? object.message : object) as Obj;
      const from = idOf(m.from_id);
      const peer = idOf(m.peer_id) ?? from;
      // A negative from_id is another community (a bot in a chat), not a person.
      if (!from || !peer || from.startsWith('-')) return undefined;
      const payload = parsePayload(m.payload);
      const ref = typeof m.ref === 'string' && m.ref ? m.ref : undefined;
      const isStart = payload && typeof payload === 'object' && (payload as Obj).command === 'start';
      return {
        ...base, kind: isStart ? 'start' : 'message', userId: from, chatId: peer, at: atOf(m.date, now),
        ...(typeof m.text === 'string' && m.text && { text: m.text }),
        // For start: the vk.me link's ref; for a message: the pressed keyboard button's payload.
        ...(isStart ? (ref ? { payload: ref } : {}) : payloadField(m.payload)),
      };
    }
    case 'message_reply': {
      // An outgoing message of the community: an admin typing in the community's messages (VK names
      // them in admin_author_id), or an API messages.send, ours included: VK echoes every one. The
      // ids of an API one go along so the store can tell our own sends (not code words) from others'.
      const m = (object.message && typeof object.message === 'object' ? object.message : object) as Obj;
      const peer = idOf(m.peer_id);
      if (!peer) return undefined;
      const byAdmin = idOf(m.admin_author_id) !== undefined;
      const randomId = typeof m.random_id === 'number' && m.random_id !== 0 ? m.random_id : undefined;
      const messageId = typeof m.id === 'number' && m.id > 0 ? m.id : undefined;
      return {
        ...base, kind: 'operator_message', userId: peer, chatId: peer, at: atOf(m.date, now), ...(typeof m.text === 'string' && m.text && { text: m.text }),
        ...(!byAdmin && (randomId !== undefined || messageId !== undefined) && { sent: { ...(randomId !== undefined && { randomId }), ...(messageId !== undefined && { messageId }) } }),
      };
    }
    case 'message_allow': {
      const key = typeof object.key === 'string' && object.key ? object.key : undefined;
      return userOnly('start', key ? { payload: key } : {});
    }
    case 'message_deny':
      return userOnly('blocked');
    case 'group_join':
      return userOnly('joined');
    case 'group_leave':
      return userOnly('left');
    case 'message_event': {
      const user = idOf(object.user_id);
      if (!user) return undefined;
      const callbackId = typeof object.event_id === 'string' && object.event_id ? object.event_id : undefined;
      return {
        ...base, kind: 'button', userId: user, chatId: idOf(object.peer_id) ?? user, at: now, ...payloadField(object.payload),
        // The id messages.sendMessageEventAnswer needs (with user_id and peer_id) to stop the button's spinner.
        ...(callbackId && { callbackQueryId: callbackId }),
      };
    }
    default:
      return undefined;
  }
}

/** `vk:<event_id>`; VK sends event_id since API 5.103, older calls get a hash of the body instead. */
function eventIdOf(b: Obj): string {
  if (typeof b.event_id === 'string' && b.event_id) return `vk:${b.event_id}`;
  const { secret: _s, ...rest } = b;
  return `vk:body-${createHash('sha256').update(stable(rest)).digest('hex').slice(0, 32)}`;
}

/** JSON with keys sorted, so the same event hashes the same whatever order VK's fields came in. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Obj)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function idOf(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v !== 0) return String(v);
  if (typeof v === 'string' && /^-?[1-9][0-9]*$/.test(v)) return v;
  return undefined;
}

function atOf(date: unknown, now: number): number {
  return typeof date === 'number' && date > 0 ? date * 1000 : now;
}

function parsePayload(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function payloadField(raw: unknown): { payload?: string } {
  const p = buttonPayload(raw);
  return p === undefined ? {} : { payload: p };
}
