import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallEvent, EngineObserver } from '../engine/engine-observer.ts';
import type { ProjectRegistry } from '../projects/project-registry.ts';
import { RecentWindow } from './recent-window.ts';

const RESPONDED_KEEP = 100_000;

/**
 * The engine's figures in Prometheus form (`GET /metrics`, prefix `conveyor_`), plus the recent
 * window that alert rules read. Lead capture is `tasks_created_total`; lead loss is
 * `tasks_finished_total{status="error"|"failed"}` over it; retry success is `retries_total` by result.
 */
export class Metrics implements EngineObserver {
  readonly registry = new Registry();
  readonly recent = new RecentWindow(5);
  private projects: ProjectRegistry | null = null;
  /** Tasks that already had their first successful call (insertion-ordered, bounded). */
  private readonly responded = new Set<string>();

  private readonly createdTotal = new Counter({ name: 'conveyor_tasks_created_total', help: 'Tasks accepted (leads captured), per process', labelNames: ['project', 'process'], registers: [this.registry] });
  private readonly finishedTotal = new Counter({ name: 'conveyor_tasks_finished_total', help: 'Tasks that ended (done, error, cancelled) or were parked failed', labelNames: ['project', 'process', 'status'], registers: [this.registry] });
  private readonly callSeconds = new Histogram({
    name: 'conveyor_call_duration_seconds', help: 'Duration of outbound calls (async node attempts), by outcome',
    labelNames: ['project', 'process', 'node', 'outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });
  private readonly firstResponse = new Histogram({
    name: 'conveyor_first_response_seconds', help: 'From a task\'s acceptance to its first successful outbound call',
    labelNames: ['project', 'process'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 3600], registers: [this.registry],
  });
  private readonly retries = new Counter({ name: 'conveyor_retries_total', help: 'Calls after a failed attempt, by result: succeeded or gave_up', labelNames: ['project', 'process', 'result'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'conveyor_' });
    const self = this;
    new Gauge({
      name: 'conveyor_queue_length', help: 'Active tasks due within 10 minutes (backlog, in flight, retrying soon), per node',
      labelNames: ['project', 'process', 'node'], registers: [this.registry],
      async collect() {
        this.reset();
        for (const [project, rows] of await self.queues()) for (const r of rows) this.set({ project, process: r.process, node: r.nodeId }, r.count);
      },
    });
    new Gauge({
      name: 'conveyor_paced_waiting', help: 'Tasks queued in memory for their turn at a paced service, per connection',
      labelNames: ['project', 'key'], registers: [this.registry],
      collect() {
        this.reset();
        for (const project of self.projects?.list() ?? []) {
          for (const [key, n] of Object.entries(self.projects!.get(project).pacedWaiting())) this.set({ project, key }, n);
        }
      },
    });
  }

  attach(projects: ProjectRegistry): void {
    this.projects = projects;
  }

  /** Active tasks due soon per project, process and node. */
  async queues(): Promise<Array<[string, Array<{ process: string; nodeId: string; count: number }>]>> {
    const out: Array<[string, Array<{ process: string; nodeId: string; count: number }>]> = [];
    for (const project of this.projects?.list() ?? []) out.push([project, await this.projects!.get(project).store.countActiveByNode(Date.now() + 600_000)]);
    return out;
  }

  created(project: string, process: string, count: number): void {
    this.createdTotal.inc({ project, process }, count);
  }

  finished(project: string, process: string, _nodeId: string, status: string): void {
    this.finishedTotal.inc({ project, process, status });
  }

  called(project: string, e: CallEvent): void {
    const ok = e.outcome === 'go' || e.outcome === 'wait';
    this.callSeconds.observe({ project, process: e.process, node: e.nodeId, outcome: ok ? 'success' : e.outcome }, e.durationMs / 1000);
    this.recent.add(`call:${project}:${e.process}`, e.durationMs);
    if (e.attemptsBefore > 0 && (ok || e.outcome === 'fail')) {
      this.retries.inc({ project, process: e.process, result: ok ? 'succeeded' : 'gave_up' });
      this.recent.add(`retry:${project}:${e.process}`, ok ? 1 : 0);
    }
    const key = `${project}:${e.taskId}`;
    if (ok && !this.responded.has(key)) {
      this.responded.add(key);
      if (this.responded.size > RESPONDED_KEEP) this.responded.delete(this.responded.values().next().value!);
      this.firstResponse.observe({ project, process: e.process }, Math.max(0, Date.now() - e.taskCreatedAt) / 1000);
    }
  }
}
