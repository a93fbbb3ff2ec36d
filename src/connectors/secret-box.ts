import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encrypts connection credentials at rest: AES-256-GCM under a key derived (HKDF-SHA256) from the
 * master key, a fresh IV per value. Text form `v1.<iv>.<tag>.<ciphertext>` in base64url, so a wrong
 * master key or a changed byte fails loudly instead of yielding garbage.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(masterKey: string) {
    if (!masterKey) throw new Error('master key: must not be empty');
    this.key = Buffer.from(hkdfSync('sha256', masterKey, 'conveyor', 'connection-secrets v1', 32));
  }

  seal(value: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), ct].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  open(sealed: string): unknown {
    const [v, iv, tag, ct] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('sealed value: unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return JSON.parse(Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8'));
    } catch {
      throw new Error('sealed value: cannot be decrypted with this master key (CONVEYOR_MASTER_KEY changed?)');
    }
  }
}
