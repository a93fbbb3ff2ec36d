/**
 * Masks secrets before a request or response is kept in task history or logs: header values of
 * Authorization-like headers, and any field or query parameter whose name looks like a credential.
 */
const SECRET_NAME = /(authorization|token|secret|password|passwd|api[-_]?key|apikey|api_id|auth|signature|cookie)/i;
const MASK = '***';

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function maskHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return headers;
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, isSecretName(k) ? MASK : v]));
}

export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) if (isSecretName(k)) u.searchParams.set(k, MASK);
    // Tokens inside paths (Bitrix24 webhooks /rest/1/<code>/, Telegram /bot<token>/) are masked too.
    u.pathname = u.pathname
      .replace(/\/bot[^/]+/, '/bot' + MASK)
      .replace(/(\/rest\/\d+\/)[^/]+/, `$1${MASK}`);
    if (u.password) u.password = MASK;
    return u.toString().replaceAll(encodeURIComponent(MASK), MASK);
  } catch {
    return url;
  }
}

/** Deep copy of a JSON value with credential-named fields masked. */
export function maskValue(value: unknown, depth = 0): unknown {
  if (depth > 20) return value;
  if (Array.isArray(value)) return value.map((v) => maskValue(v, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, isSecretName(k) && typeof v !== 'object' ? MASK : maskValue(v, depth + 1)]),
    );
  }
  return value;
}

/** Replaces known secret values (e.g. configured tokens) wherever they appear in a text. */
export function maskKnown(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join(MASK);
  return out;
}

/** Characters of a text body kept in task history. */
export const KEPT_CHARS = 4096;

/** A text cut to what history keeps, saying how long it was. */
export function keepText(text: string, max = KEPT_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

/**
 * A response body as task history keeps it: JSON with credential-named fields and the known secrets
 * masked; any other text with the secrets masked, cut to KEPT_CHARS.
 */
export function keptBody(res: { json: unknown; body: string }, secrets: readonly string[]): unknown {
  if (res.json !== undefined) return maskValue(JSON.parse(maskKnown(JSON.stringify(res.json), secrets)));
  return keepText(maskKnown(res.body, secrets));
}

/** The response half of an exchange kept in history: status, kept body, duration. */
export function keptResponse(res: { status: number; json: unknown; body: string; durationMs: number }, secrets: readonly string[]) {
  return { status: res.status, body: keptBody(res, secrets), durationMs: Math.round(res.durationMs) };
}
