import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A file that reached the fake's upload server. */
export interface UploadedToVk {
  kind: 'photo' | 'doc';
  name: string;
  type: string;
  size: number;
  bytes: Buffer;
}

/** A file saved by photos.saveMessagesPhoto / docs.save: the attachment it became. */
export interface SavedVkFile {
  kind: 'photo' | 'doc';
  id: number;
  owner_id: number;
  access_key?: string;
  name: string;
  attachment: string;
}

/** What the API part answers: `{response}` or a VK error code with its detail. */
export type VkMethodAnswer = { response: unknown } | { error: number; detail?: string };

// Images VK's photo server takes (by their first bytes); anything else comes back as `"photo": "[]"`.
const IMAGE_MAGIC = [Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('\x89PNG', 'latin1'), Buffer.from('GIF8', 'latin1')];
// VK's docs server refuses executables and a few other extensions.
const REFUSED_DOC = /\.(exe|apk|msi|bat|cmd|scr|mp3)$/i;

/**
 * VK's file upload for messages, in its real wire format, for FakeVk: the API methods
 * (photos.getMessagesUploadServer → saveMessagesPhoto, docs.getMessagesUploadServer → docs.save) and
 * the upload server they name (`POST /upload/{photo|doc}`, multipart/form-data with the file in field
 * `photo` / `file`), whose answers carry a hash the save method checks (error 121 on a wrong one).
 */
export class FakeVkUploads {
  readonly uploaded: UploadedToVk[] = [];
  readonly saved: SavedVkFile[] = [];
  private readonly key = randomBytes(16);
  /** Upload ids → the file, until saved (a photo or doc token can be saved once). */
  private readonly pending = new Map<string, UploadedToVk>();
  private nextId = 457_239_017;

  constructor(private readonly base: () => string, private readonly groupId: number) {}

  /** The methods this part answers. */
  handles(method: string): boolean {
    return ['photos.getMessagesUploadServer', 'photos.saveMessagesPhoto', 'docs.getMessagesUploadServer', 'docs.save'].includes(method);
  }

  method(method: string, p: Record<string, string>): VkMethodAnswer {
    switch (method) {
      case 'photos.getMessagesUploadServer':
        return { response: { album_id: -3, upload_url: this.uploadUrl('photo'), user_id: 0, group_id: this.groupId } };
      case 'docs.getMessagesUploadServer':
        if (!/^-?[0-9]+$/.test(p.peer_id ?? '')) return { error: 100, detail: 'peer_id is undefined' };
        if (p.type !== undefined && !['doc', 'audio_message', 'graffiti'].includes(p.type)) return { error: 100, detail: 'type is invalid' };
        return { response: { upload_url: this.uploadUrl('doc') } };
      case 'photos.saveMessagesPhoto':
        return this.savePhoto(p);
      default:
        return this.saveDoc(p);
    }
  }

  /** `POST /upload/{kind}`: the multipart body parsed by the platform's own FormData reader. */
  async receive(req: IncomingMessage, raw: Buffer): Promise<Record<string, unknown>> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const kind = url.pathname === '/upload/photo' ? 'photo' : 'doc';
    const server = Number(url.searchParams.get('srv') ?? 0);
    let file: File | null = null;
    try {
      const form = await new Request(url.href, { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: new Uint8Array(raw) }).formData();
      const v = form.get(kind === 'photo' ? 'photo' : 'file');
      file = v instanceof File ? v : null;
    } catch {
      file = null;
    }
    if (kind === 'doc') {
      if (!file) return { error: 'no_file', error_descr: 'ERR_UPLOAD_FILE_NOT_UPLOADED: file not uploaded' };
      if (REFUSED_DOC.test(file.name)) return { error: 'bad_file_type', error_descr: 'ERR_UPLOAD_BAD_FILE_TYPE: this file type is not allowed' };
    }
    const bytes = file ? Buffer.from(await file.arrayBuffer()) : Buffer.alloc(0);
    const isImage = IMAGE_MAGIC.some((m) => bytes.subarray(0, m.length).equals(m));
    if (kind === 'photo' && !isImage) return { server, photo: '[]', hash: this.sign(server, '[]') };
    const item: UploadedToVk = { kind, name: file!.name, type: file!.type, size: bytes.length, bytes };
    this.uploaded.push(item);
    const token = randomBytes(12).toString('hex');
    this.pending.set(token, item);
    if (kind === 'doc') return { file: `${server}|0|0|${token}|${this.sign(server, token)}` };
    const photo = JSON.stringify([{ markers_restarted: true, photo: `${token}:x`, sizes: [], latitude: 0, longitude: 0, kid: token.slice(0, 8) }]);
    return { server, photo, hash: this.sign(server, photo) };
  }

  private savePhoto(p: Record<string, string>): VkMethodAnswer {
    const server = Number(p.server);
    if (!p.photo || p.photo === '[]') return { error: 100, detail: 'photo is undefined' };
    if (!p.hash || p.hash !== this.sign(server, p.photo)) return { error: 121 };
    let token = '';
    try {
      token = String((JSON.parse(p.photo) as Array<{ photo?: string }>)[0]?.photo ?? '').split(':')[0];
    } catch {
      return { error: 100, detail: 'photo is undefined' };
    }
    const item = this.pending.get(token);
    if (!item) return { error: 100, detail: 'photo is undefined' };
    this.pending.delete(token);
    const saved = this.save('photo', item, randomBytes(9).toString('hex'));
    return {
      response: [{
        album_id: -3, date: Math.floor(Date.now() / 1000), id: saved.id, owner_id: saved.owner_id, access_key: saved.access_key, text: '',
        has_tags: false, sizes: [{ height: 75, type: 's', width: 75, url: `${this.base()}/files/photo${saved.id}_s.jpg` }, { height: 604, type: 'x', width: 604, url: `${this.base()}/files/photo${saved.id}_x.jpg` }],
      }],
    };
  }

  private saveDoc(p: Record<string, string>): VkMethodAnswer {
    if (!p.file) return { error: 100, detail: 'file is undefined' };
    const [server, , , token, hash] = p.file.split('|');
    if (!token || hash !== this.sign(Number(server), token)) return { error: 121 };
    const item = this.pending.get(token);
    if (!item) return { error: 100, detail: 'file is undefined' };
    this.pending.delete(token);
    const title = p.title || item.name;
    const saved = this.save('doc', { ...item, name: title });
    const ext = /\.([A-Za-z0-9]+)$/.exec(title)?.[1] ?? '';
    return {
      response: {
        type: 'doc',
        doc: { id: saved.id, owner_id: saved.owner_id, title, size: item.size, ext, date: Math.floor(Date.now() / 1000), type: ext === 'pdf' ? 1 : 8, url: `${this.base()}/files/doc${saved.id}` },
      },
    };
  }

  private save(kind: 'photo' | 'doc', item: UploadedToVk, accessKey?: string): SavedVkFile {
    const id = this.nextId++;
    const owner = -this.groupId;
    const attachment = `${kind}${owner}_${id}${accessKey ? `_${accessKey}` : ''}`;
    const saved: SavedVkFile = { kind, id, owner_id: owner, name: item.name, attachment, ...(accessKey && { access_key: accessKey }) };
    this.saved.push(saved);
    return saved;
  }

  private uploadUrl(kind: 'photo' | 'doc'): string {
    return `${this.base()}/upload/${kind}?srv=${kind === 'photo' ? 232131 : 533124}&gid=${this.groupId}&key=${randomBytes(8).toString('hex')}`;
  }

  private sign(server: number, what: string): string {
    return createHmac('sha256', this.key).update(`${server}:${what}`).digest('hex').slice(0, 32);
  }
}
