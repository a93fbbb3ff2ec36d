import { basename } from 'node:path';
import type { UploadedFileStore } from '../../storage/uploaded-file-store.ts';
import { HttpFailure, type HttpClient, type HttpResponse } from '../../util/http-client.ts';
import { maskUrl } from '../../util/mask-secrets.ts';
import { ServiceFailure } from '../service-failure.ts';
import type { VkClient } from './vk-client.ts';

/** Files larger than this are refused before any upload (VK itself takes docs up to 200 MB, photos 50 MB). */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;

/** How a file goes to VK: a photo (shown inline) or a document (any file; videos go this way too). */
export type VkFileKind = 'photo' | 'doc';

export interface VkUploadRequest {
  http: HttpClient;
  client: VkClient;
  uploads: UploadedFileStore;
  connection: string;
  /** The person the file is for: VK's upload server wants a peer, the attachment then serves every peer. */
  peerId: string;
  url: string;
  kind: VkFileKind;
  /** The field named in errors about the URL (chat.send's `media.url`). */
  field: string;
  timeoutMs: number;
}

/**
 * Uploads in flight per store and file, so people reached at the same moment share one upload
 * instead of each missing the cache (the store is per project, hence the WeakMap).
 */
const inFlight = new WeakMap<UploadedFileStore, Map<string, Promise<string>>>();

/**
 * The VK attachment (`photo-1_2_key`, `doc-1_3`) for the file at `url`: from the connection's cache,
 * else downloaded, uploaded to VK's upload server, saved, and cached. Throws a classified
 * ServiceFailure: the file host's 4xx or a file too big is `fail` naming the field; its 5xx, a
 * timeout, or VK's upload server down is `retry`; VK's own errors are classified as any VK call.
 */
export async function vkAttachmentFor(r: VkUploadRequest): Promise<{ attachment: string; uploaded: boolean }> {
  const key = { platform: 'vk' as const, connection: r.connection, url: r.url, kind: r.kind };
  const cached = await r.uploads.get(key);
  if (cached) return { attachment: cached, uploaded: false };
  let running = inFlight.get(r.uploads);
  if (!running) inFlight.set(r.uploads, (running = new Map()));
  const id = `${r.connection}\n${r.kind}\n${r.url}`;
  const pending = running.get(id);
  if (pending) return { attachment: await pending, uploaded: false };
  const job = (async () => {
    const attachment = await upload(r);
    await r.uploads.put(key, attachment);
    return attachment;
  })();
  running.set(id, job);
  try {
    return { attachment: await job, uploaded: true };
  } finally {
    running.delete(id);
  }
}

async function upload(r: VkUploadRequest): Promise<string> {
  const file = await download(r);
  if (r.kind === 'photo') {
    const server = await r.client.call('photos.getMessagesUploadServer', { peer_id: r.peerId }, r.timeoutMs);
    const sent = await postFile(r, uploadUrl(server.response), 'photo', file);
    const saved = await r.client.call('photos.saveMessagesPhoto', { server: sent.server, photo: sent.photo, hash: sent.hash }, r.timeoutMs);
    const photo = (Array.isArray(saved.response) ? saved.response[0] : undefined) as VkSaved | undefined;
    return attachmentOf('photo', photo);
  }
  const server = await r.client.call('docs.getMessagesUploadServer', { type: 'doc', peer_id: r.peerId }, r.timeoutMs);
  const sent = await postFile(r, uploadUrl(server.response), 'file', file);
  const saved = await r.client.call('docs.save', { file: sent.file, title: file.name }, r.timeoutMs);
  return attachmentOf('doc', (saved.response as { doc?: VkSaved } | undefined)?.doc);
}

interface Downloaded { bytes: Buffer; name: string; type: string }

/** The file from its host, whole; nothing but http(s), at most MAX_FILE_BYTES. */
async function download(r: VkUploadRequest): Promise<Downloaded> {
  if (!/^https?:\/\/[^\s/]+/i.test(r.url)) throw new ServiceFailure('fail', `${r.field}: only http(s) URLs can be sent (got "${r.url.slice(0, 40)}")`, { code: 'bad_url' });
  let res: HttpResponse;
  let url = r.url;
  // File links often redirect (a CDN, a shortener); a few hops are followed, http(s) only.
  for (let hop = 0; ; hop++) {
    try {
      res = await r.http.request({ method: 'GET', url, timeoutMs: r.timeoutMs, binary: true, maxBytes: MAX_FILE_BYTES });
    } catch (e) {
      const kind = e instanceof HttpFailure ? e.kind : 'network';
      throw new ServiceFailure('retry', `${r.field}: the file could not be downloaded (${kind}: ${(e as Error).message})`, { code: kind });
    }
    const next = res.status >= 300 && res.status < 400 && res.headers.location ? new URL(res.headers.location, url).href : null;
    if (!next || hop >= 5 || !/^https?:/i.test(next)) break;
    url = next;
  }
  // A signed file link may carry a token in its query: kept masked, as every exchange.
  const exchange = { request: { method: 'GET', url: maskUrl(url) }, response: { status: res.status, durationMs: res.durationMs } };
  // 408 and 429 are the host asking for later, not a missing file.
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    throw new ServiceFailure('retry', `${r.field}: the file host answered HTTP ${res.status}`, { code: res.status, exchange });
  }
  if (res.status >= 300) throw new ServiceFailure('fail', `${r.field}: the file host answered HTTP ${res.status}`, { code: res.status, exchange });
  if (res.truncated) throw new ServiceFailure('fail', `${r.field}: the file is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB`, { code: 'too_big', exchange });
  const bytes = res.bytes ?? Buffer.alloc(0);
  if (!bytes.length) throw new ServiceFailure('fail', `${r.field}: the file host answered an empty file`, { code: 'empty_file', exchange });
  const type = (res.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim();
  return { bytes, name: fileName(r.url, type), type };
}

/** The upload server's answer: `{server, photo, hash}` for a photo, `{file}` for a doc, or `{error}`. */
interface UploadAnswer { server?: number; photo?: string; hash?: string; file?: string }

/** The file as multipart/form-data to VK's upload server (the form built by the platform's FormData). */
async function postFile(r: VkUploadRequest, url: string, field: 'photo' | 'file', f: Downloaded): Promise<UploadAnswer> {
  const form = new FormData();
  form.set(field, new Blob([new Uint8Array(f.bytes)], { type: f.type }), f.name);
  const encoded = new Response(form);
  const body = Buffer.from(await encoded.arrayBuffer());
  const headers = { 'content-type': encoded.headers.get('content-type')! };
  let res: HttpResponse;
  try {
    res = await r.http.request({ method: 'POST', url, headers, bodyBytes: body, timeoutMs: r.timeoutMs });
  } catch (e) {
    const kind = e instanceof HttpFailure ? e.kind : 'network';
    throw new ServiceFailure('retry', `VK upload server: ${kind}: ${(e as Error).message}`, { code: kind });
  }
  const j = res.json as (UploadAnswer & { error?: unknown; error_descr?: unknown }) | undefined;
  if (res.status >= 200 && res.status < 300 && j && typeof j === 'object') {
    // The upload server's own errors ({"error": "..."}) are about the file: sending it again will not help.
    if (j.error !== undefined) throw new ServiceFailure('fail', `VK upload server refused the file: ${String(j.error_descr ?? j.error)}`, { code: 'upload_refused' });
    return j;
  }
  throw new ServiceFailure('retry', `VK upload server answered HTTP ${res.status} without a JSON answer`, { code: res.status });
}

function uploadUrl(response: unknown): string {
  const url = (response as { upload_url?: unknown } | undefined)?.upload_url;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new ServiceFailure('retry', 'VK answered no upload_url', { code: 'no_upload_url' });
  return url;
}

interface VkSaved { id?: number; owner_id?: number; access_key?: string }

/** `photo{owner_id}_{id}` / `doc{owner_id}_{id}`, with `_{access_key}` when VK gives one (needed to show it to others). */
function attachmentOf(type: 'photo' | 'doc', saved: VkSaved | undefined): string {
  if (typeof saved?.id !== 'number' || typeof saved.owner_id !== 'number') throw new ServiceFailure('retry', `VK saved the ${type} but answered no id`, { code: 'no_id' });
  return `${type}${saved.owner_id}_${saved.id}${saved.access_key ? `_${saved.access_key}` : ''}`;
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'application/pdf': 'pdf', 'video/mp4': 'mp4', 'text/plain': 'txt',
};

/** The name VK shows for a document: the URL's last path part, with an extension from the type when it has none. */
function fileName(url: string, type: string): string {
  let name = '';
  try {
    name = decodeURIComponent(basename(new URL(url).pathname));
  } catch {
    name = '';
  }
  if (!name) name = 'file';
  return /\.[A-Za-z0-9]{1,5}$/.test(name) ? name : `${name}.${EXTENSIONS[type] ?? 'bin'}`;
}
