import type { Logger } from 'pino';
import type { ProjectEngine } from '../engine/project-engine.ts';
import { BotPollers } from './bot-pollers.ts';
import { FunnelRuntime } from './funnel-runtime.ts';
import { StuckWatch } from './stuck-watch.ts';
import { TimerTriggers } from './timer-triggers.ts';
import { LlmTriggerMatcher } from './trigger-llm.ts';
import type { HttpClient } from '../util/http-client.ts';

/**
 * A project's chatbot side, started and stopped together: inbound events to funnel work, bots by long
 * polling, timer triggers, and the watch for people stuck on a step.
 */
export class ProjectFunnels {
  readonly runtime: FunnelRuntime;
  private readonly timers: TimerTriggers;
  private readonly pollers: BotPollers;
  private readonly stuck: StuckWatch;

  constructor(engine: ProjectEngine, http: HttpClient, log: Logger) {
    this.runtime = new FunnelRuntime(engine, log.child({ part: 'funnels' }), new LlmTriggerMatcher(engine.connections, http));
    this.timers = new TimerTriggers(engine, log.child({ part: 'timers' }));
    this.pollers = new BotPollers(engine, () => this.runtime.signal(), log.child({ part: 'bots' }));
    this.stuck = new StuckWatch(engine, log.child({ part: 'stuck' }));
  }

  start(): void {
    this.runtime.start();
    this.timers.start();
    this.pollers.start();
    this.stuck.start();
  }

  /** What feeds the runtime stops first, then the runtime (it finishes the events under way). */
  async stop(): Promise<void> {
    await Promise.all([this.timers.stop(), this.pollers.stop(), this.stuck.stop()]);
    await this.runtime.stop();
  }
}
