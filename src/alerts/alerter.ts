import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.ts';
import type { ProjectRegistry } from '../projects/project-registry.ts';
import { parseDuration } from '../util/duration.ts';
import { alertSettingsFrom, evaluate, type AlertSettings, type Breach } from './alert-rules.ts';

/** Sends one alert message for a project (e.g. to a Telegram chat). */
export type AlertSink = (project: string, settings: AlertSettings, text: string) => Promise<void>;

export interface AlertEvent { at: number; project: string; rule: string; process: string; state: 'firing' | 'repeat' | 'resolved'; text: string }

interface Firing { since: number; sentAt: number; text: string }

/**
 * Checks every project's alert rules on a timer. A rule that starts firing is sent once; while it keeps
 * firing it is repeated only after `repeat_after`; when it clears, "resolved" is sent once. All changes
 * of one check go out as one message per project, so an outage that trips every rule is one message,
 * not a storm.
 */
export class Alerter {
  private readonly firing = new Map<string, Firing>();
  private readonly events: AlertEvent[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly projects: ProjectRegistry,
    private readonly metrics: Metrics,
    private readonly sink: AlertSink,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  start(everyMs = 30_000): void {
    this.timer = setInterval(() => void this.check().catch((err) => this.log.error({ err }, 'alert check failed')), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Firing alerts and the latest events of a project. */
  list(project: string): { firing: Array<{ rule: string; process: string; since: string; text: string }>; events: AlertEvent[] } {
    const firing = [...this.firing].filter(([k]) => k.startsWith(`${project}\u0000`)).map(([k, f]) => {
      const [, rule, process] = k.split('\u0000');
      return { rule, process, since: new Date(f.since).toISOString(), text: f.text };
    });
    return { firing, events: this.events.filter((e) => e.project === project).slice(-50) };
  }

  async check(): Promise<void> {
    const queues = new Map(await this.metrics.queues());
    for (const project of this.projects.list()) {
      let settings: AlertSettings;
      try {
        settings = alertSettingsFrom(this.projects.get(project).getConfig().alerts);
      } catch (err) {
        this.log.warn({ project, err: (err as Error).message }, 'alert settings are invalid; using the defaults');
        settings = alertSettingsFrom(undefined);
      }
      const processes = new Set([...this.projects.get(project).processNames()]);
      const figures = [...processes].map((process) => ({
        process,
        queueLength: (queues.get(project) ?? []).filter((q) => q.process === process).reduce((n, q) => n + q.count, 0),
        calls: this.metrics.recent.read(`call:${project}:${process}`),
        retries: this.metrics.recent.read(`retry:${project}:${process}`),
      }));
      const lines = this.update(project, settings, evaluate(settings, figures));
      if (!lines.length) continue;
      const text = `Conveyor · project ${project}\n${lines.join('\n')}`;
      this.log.warn({ project, alerts: lines }, 'alerts');
      await this.sink(project, settings, text).catch((err) => this.log.error({ err, project }, 'alert could not be sent'));
    }
  }

  private update(project: string, settings: AlertSettings, breaches: Breach[]): string[] {
    const now = this.clock();
    const repeat = parseDuration(settings.repeat_after);
    const lines: string[] = [];
    const seen = new Set<string>();
    const record = (rule: string, process: string, state: AlertEvent['state'], text: string) => {
      this.events.push({ at: now, project, rule, process, state, text });
      if (this.events.length > 1000) this.events.splice(0, this.events.length - 1000);
      lines.push(`${state === 'resolved' ? '✅ resolved' : state === 'repeat' ? '🔴 still' : '🔴'} ${process}: ${text}`);
    };
    for (const b of breaches) {
      const key = [project, b.rule, b.process].join('\u0000');
      seen.add(key);
      const f = this.firing.get(key);
      if (!f) {
        this.firing.set(key, { since: now, sentAt: now, text: b.text });
        record(b.rule, b.process, 'firing', b.text);
      } else {
        f.text = b.text;
        if (now - f.sentAt >= repeat) {
          f.sentAt = now;
          record(b.rule, b.process, 'repeat', b.text);
        }
      }
    }
    for (const [key, f] of this.firing) {
      if (!key.startsWith(`${project}\u0000`) || seen.has(key)) continue;
      this.firing.delete(key);
      const [, rule, process] = key.split('\u0000');
      record(rule, process, 'resolved', `${rule.replaceAll('_', ' ')} back to normal (was: ${f.text})`);
    }
    return lines;
  }
}
