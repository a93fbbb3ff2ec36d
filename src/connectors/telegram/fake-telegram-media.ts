import { randomBytes } from 'node:crypto';
import type { FakeAnswer } from './fake-telegram-inbox.ts';

export type FakeMediaKind = 'photo' | 'document' | 'video';

/** A photo, document or video the fake accepted, as the test reads it back. */
export interface SentTelegramMedia {
  message_id: number;
  chat_id: string;
  kind: FakeMediaKind;
  /** What the bot sent: the URL or the file_id, as given. */
  file: string;
  /** The file_id Telegram answered with (the same for the same file sent again). */
  file_id: string;
  caption?: string;
  parse_mode?: string;
  reply_markup?: { inline_keyboard: Array<Array<Record<string, unknown>>> };
  protect_content?: boolean;
  business_connection_id?: string;
  date: number;
}

/** The send methods and the parameter each takes its file in. */
export const FAKE_MEDIA_METHODS: Record<string, FakeMediaKind> = { sendPhoto: 'photo', sendDocument: 'document', sendVideo: 'video' };

const MAX_CAPTION = 1024;
// Real file_ids start with a type-dependent prefix; the fake keeps that so mismatches look real.
const PREFIX: Record<FakeMediaKind, string> = { photo: 'AgACAgIAAxkDAAI', document: 'BQACAgIAAxkDAAI', video: 'BAACAgIAAxkDAAI' };

const ok = (result: unknown): FakeAnswer => ({ status: 200, body: { ok: true, result } });
const bad = (description: string): FakeAnswer => ({ status: 400, body: { ok: false, error_code: 400, description: `Bad Request: ${description}` } });

interface StoredFile { kind: FakeMediaKind; file_id: string; file_unique_id: string; name: string }

/**
 * sendPhoto / sendDocument / sendVideo for the fake, with Telegram's answer shapes and its errors for
 * a file it cannot use: a URL it cannot download, a file_id it never gave, a file_id of another type,
 * a caption over 1024 characters. A URL is "downloaded" unless the test said it fails (failUrl).
 */
export class FakeMediaFiles {
  readonly sent: SentTelegramMedia[] = [];
  private readonly byId = new Map<string, StoredFile>();
  private readonly byUrl = new Map<string, StoredFile>();
  private readonly failing = new Set<string>();

  /** Telegram cannot fetch this URL (404, too big, not public): "failed to get HTTP URL content". */
  failUrl(url: string): void {
    this.failing.add(url);
  }

  /**
   * One send. The chat (blocked, not found, business connection) was checked by the caller, which
   * also hands out the message id and the message's common fields (`from`, `chat`, `date`).
   */
  send(method: string, p: Record<string, unknown>, message: { message_id: number; chat_id: string; date: number; common: Record<string, unknown> }, markup: unknown): FakeAnswer {
    const kind = FAKE_MEDIA_METHODS[method];
    const given = p[kind] === undefined || p[kind] === null ? '' : String(p[kind]);
    if (!given) return bad(`there is no ${kind} in the request`);
    const caption = p.caption === undefined ? undefined : String(p.caption);
    if (caption !== undefined && [...caption].length > MAX_CAPTION) return bad('message caption is too long');
    const found = this.resolve(kind, given);
    if (typeof found === 'string') return bad(found);
    const sent: SentTelegramMedia = {
      message_id: message.message_id, chat_id: message.chat_id, kind, file: given, file_id: found.file_id, date: message.date,
      ...(caption !== undefined && caption !== '' && { caption }),
      ...(p.parse_mode !== undefined && { parse_mode: String(p.parse_mode) }),
      ...(markup !== undefined && { reply_markup: markup as SentTelegramMedia['reply_markup'] }),
      ...(p.protect_content === true || p.protect_content === 'true' ? { protect_content: true } : {}),
      ...(typeof p.business_connection_id === 'string' && p.business_connection_id && { business_connection_id: p.business_connection_id }),
    };
    this.sent.push(sent);
    return ok({
      ...message.common, message_id: sent.message_id, date: sent.date, [kind]: shape(found),
      ...(sent.caption && { caption: sent.caption }), ...(sent.reply_markup && { reply_markup: sent.reply_markup }),
    });
  }

  /** The stored file for a URL or file_id, or Telegram's complaint about it. */
  private resolve(kind: FakeMediaKind, given: string): StoredFile | string {
    if (/^https?:\/\//i.test(given)) {
      if (this.failing.has(given)) return 'failed to get HTTP URL content';
      const known = this.byUrl.get(`${kind} ${given}`);
      if (known) return known;
      const file = this.store(kind, decodeURIComponent(new URL(given).pathname.split('/').pop() || 'file'));
      this.byUrl.set(`${kind} ${given}`, file);
      return file;
    }
    const file = this.byId.get(given);
    if (!file) return 'wrong file identifier/HTTP URL specified';
    if (file.kind !== kind) return `type of file mismatch`;
    return file;
  }

  private store(kind: FakeMediaKind, name: string): StoredFile {
    const file = { kind, file_id: PREFIX[kind] + randomBytes(24).toString('base64url'), file_unique_id: `AQAD${randomBytes(6).toString('base64url')}`, name };
    this.byId.set(file.file_id, file);
    return file;
  }
}

/** The file as Telegram describes it in a Message: photos as sizes (smallest first), others as one object. */
function shape(f: StoredFile): unknown {
  if (f.kind === 'photo') {
    return [[90, 60, 1200], [320, 213, 14000], [800, 533, 61000]].map(([width, height, file_size], i, all) => ({
      // Each size has its own id in Telegram; the largest is the one to send again.
      file_id: i === all.length - 1 ? f.file_id : `${f.file_id.slice(0, -2)}s${i}`, file_unique_id: `${f.file_unique_id}${i}`, file_size, width, height,
    }));
  }
  const mime = /\.pdf$/i.test(f.name) ? 'application/pdf' : f.kind === 'video' ? 'video/mp4' : 'application/octet-stream';
  const common = { file_name: f.name, mime_type: mime, file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: 524288 };
  return f.kind === 'video' ? { duration: 12, width: 1280, height: 720, ...common } : common;
}
