import { parseDuration } from '../util/duration.ts';

/** A project's alert settings (project config key `alerts`); `false` turns a rule off. */
export interface AlertSettings {
  /** Active tasks of a process due now or soon (its backlog). Seed: > 50. */
  queue_length: number | false;
  /** Average outbound call time of a process over the last 5 minutes, seconds. Seed: > 10 s. */
  avg_processing_seconds: number | false;
  /** Share of retried calls that then succeeded, last 5 minutes. Seed: < 80 %. */
  retry_success_rate: number | false;
  /** Retried calls needed in the window before the rate means anything. */
  min_retries: number;
  /** A rule still firing is repeated this often (never more often). */
  repeat_after: string;
  /** Where to send: a Telegram connection of the project and a chat. Without it alerts are logged and listed only. */
  telegram?: { connection?: string; chat_id: string | number };
}

export const DEFAULT_ALERTS: AlertSettings = {
  queue_length: 50, avg_processing_seconds: 10, retry_success_rate: 0.8, min_retries: 5, repeat_after: '1h',
};

/** Reads `alerts` from project config over the defaults; throws naming the field. */
export function alertSettingsFrom(value: unknown): AlertSettings {
  if (value === undefined || value === null) return { ...DEFAULT_ALERTS };
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error('alerts: must be an object');
  const v = value as Record<string, unknown>;
  const out: AlertSettings = { ...DEFAULT_ALERTS };
  for (const [k, x] of Object.entries(v)) {
    switch (k) {
      case 'queue_length': case 'avg_processing_seconds': case 'retry_success_rate': case 'min_retries':
        if (x !== false && (typeof x !== 'number' || !(x >= 0))) throw new Error(`alerts.${k}: a number ≥ 0${k === 'min_retries' ? '' : ', or false'}`);
        if (k === 'retry_success_rate' && typeof x === 'number' && x > 1) throw new Error('alerts.retry_success_rate: a fraction from 0 to 1');
        (out as unknown as Record<string, unknown>)[k] = x;
        break;
      case 'repeat_after':
        parseDuration(x as string);
        out.repeat_after = x as string;
        break;
      case 'telegram': {
        const t = x as Record<string, unknown> | null;
        if (!t || typeof t !== 'object' || (typeof t.chat_id !== 'string' && typeof t.chat_id !== 'number')) throw new Error('alerts.telegram.chat_id: is required (a chat id)');
        out.telegram = { connection: (t.connection as string | undefined) ?? 'default', chat_id: t.chat_id as string | number };
        break;
      }
      default:
        throw new Error(`alerts.${k}: unknown; use queue_length, avg_processing_seconds, retry_success_rate, min_retries, repeat_after, telegram`);
    }
  }
  return out;
}

/** What the rules see for one process. */
export interface ProcessFigures {
  process: string;
  queueLength: number;
  calls: { sum: number; count: number };
  retries: { sum: number; count: number };
}

export interface Breach {
  rule: 'queue_length' | 'avg_processing_seconds' | 'retry_success_rate';
  process: string;
  text: string;
}

/** The rules broken now, one entry per rule and process. */
export function evaluate(s: AlertSettings, figures: ProcessFigures[]): Breach[] {
  const out: Breach[] = [];
  for (const f of figures) {
    if (s.queue_length !== false && f.queueLength > s.queue_length) {
      out.push({ rule: 'queue_length', process: f.process, text: `${f.queueLength} tasks queued (limit ${s.queue_length})` });
    }
    const avg = f.calls.count ? f.calls.sum / f.calls.count / 1000 : 0;
    if (s.avg_processing_seconds !== false && f.calls.count && avg > s.avg_processing_seconds) {
      out.push({ rule: 'avg_processing_seconds', process: f.process, text: `calls take ${avg.toFixed(1)} s on average (limit ${s.avg_processing_seconds} s)` });
    }
    const rate = f.retries.count ? f.retries.sum / f.retries.count : 1;
    if (s.retry_success_rate !== false && f.retries.count >= s.min_retries && rate < s.retry_success_rate) {
      out.push({ rule: 'retry_success_rate', process: f.process, text: `${Math.round(rate * 100)} % of retried calls succeed (limit ${Math.round(s.retry_success_rate * 100)} %)` });
    }
  }
  return out;
}
