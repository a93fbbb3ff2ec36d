import { ServiceFailure, type Exchange } from '../service-failure.ts';
import type { Bitrix24Client } from './bitrix24-client.ts';
import { bitrix24Failure, isBitrix24Error } from './bitrix24-errors.ts';

/** Bitrix24 runs at most 50 commands in one `batch` call. */
export const BATCH_MAX = 50;

export interface BatchCommand {
  /** The command's key in `cmd` (unique in the batch), e.g. `t123` for task 123. */
  key: string;
  method: string;
  params: Record<string, unknown>;
}

export interface BatchItemResult {
  result: unknown;
  exchange: Exchange;
}

interface BatchResult {
  result?: Record<string, unknown> | unknown[];
  result_error?: Record<string, unknown> | unknown[];
}

/**
 * Params in PHP's bracket notation, as Bitrix24 parses a batch command's query string:
 * `{fields: {NAME: 'A', PHONE: [{VALUE: '1'}]}}` → `fields[NAME]=A&fields[PHONE][0][VALUE]=1`.
 * Values are URL-encoded (so `&`, `=`, `+` survive); null and undefined are left out, like http_build_query.
 */
export function bracketQuery(params: Record<string, unknown>): string {
  const out: string[] = [];
  const walk = (key: string, value: unknown): void => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) return value.forEach((v, i) => walk(`${key}[${i}]`, v));
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(`${key}[${encodeURIComponent(k)}]`, v);
      return;
    }
    // PHP sends true/false as 1/0; Bitrix24's own Y/N flags should be given as "Y"/"N".
    const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    out.push(`${key}=${encodeURIComponent(text)}`);
  };
  for (const [k, v] of Object.entries(params)) walk(encodeURIComponent(k), v);
  return out.join('&');
}

/**
 * Runs up to 50 commands in one `batch` call (halt 0: one bad command does not stop the others) and
 * hands back each command's own result or its failure, classified like a single call's error. A
 * failure of the whole call (rate limit, outage, credentials) is thrown for the caller to give to all.
 * Each item's exchange holds only its own command and answer, so 50 tasks do not each keep the batch.
 */
export async function runBatch(client: Bitrix24Client, commands: BatchCommand[]): Promise<Array<BatchItemResult | ServiceFailure>> {
  if (commands.length > BATCH_MAX) throw new ServiceFailure('fail', `a batch takes at most ${BATCH_MAX} commands, got ${commands.length}`, { code: 'batch_too_long' });
  const cmd: Record<string, string> = {};
  for (const c of commands) cmd[c.key] = `${c.method}?${bracketQuery(c.params)}`;
  const answer = await client.call<BatchResult>('batch', { halt: 0, cmd });
  const results = asMap(answer.result?.result);
  const errors = asMap(answer.result?.result_error);
  const sentCmd = ((answer.exchange.request.body as { cmd?: Record<string, unknown> } | undefined)?.cmd) ?? {};
  const sentResults = asMap((answer.exchange.response?.body as { result?: BatchResult } | undefined)?.result?.result);
  const sentErrors = asMap((answer.exchange.response?.body as { result?: BatchResult } | undefined)?.result?.result_error);
  return commands.map((c) => {
    const own = (body: unknown): Exchange => ({
      request: { ...answer.exchange.request, body: { halt: 0, cmd: { [c.key]: sentCmd[c.key] } } },
      response: answer.exchange.response && { ...answer.exchange.response, body },
    });
    const err = errors[c.key];
    if (err !== undefined) {
      const exchange = own({ result_error: { [c.key]: sentErrors[c.key] } });
      const f = isBitrix24Error(err)
        ? bitrix24Failure(err, exchange)
        : new ServiceFailure('fail', `Bitrix24 could not run ${c.method}`, { code: 'batch_command_failed', exchange });
      // The batch itself was authorized, so a command's token complaint is not the client's to refresh.
      return f.failure === 'refresh' ? new ServiceFailure('retry', f.message, f.opts) : f;
    }
    if (c.key in results) return { result: results[c.key], exchange: own({ result: { [c.key]: sentResults[c.key] } }) };
    return new ServiceFailure('retry', `Bitrix24 gave no answer for command ${c.key} of the batch`, { code: 'batch_no_answer', exchange: own(null) });
  });
}

/** Bitrix24 (PHP) sends an empty map as `[]`. */
function asMap(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Unique command keys from task ids: `t<id>`, with a suffix when one task shows up twice. */
export function commandKeys(ids: number[]): string[] {
  const seen = new Set<string>();
  return ids.map((id, i) => {
    let key = `t${id}`;
    if (seen.has(key)) key = `t${id}_${i}`;
    seen.add(key);
    return key;
  });
}
