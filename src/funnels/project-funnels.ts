import type { Logger } from 'pino';
import type { ProjectEngine } from '../engine/project-engine.ts';
import { AdminRelay } from './admin-relay.ts';
import { BotPollers } from './bot-pollers.ts';
import { FunnelRuntime } from './funnel-runtime.ts';
import { StuckWatch } from './stuck-watch.ts';
import { TimerTriggers } from './timer-triggers.ts';
import { LlmTriggerMatcher } from './trigger-llm.ts';
import type { HttpClient } from '../util/http-client.ts';

/**
 * A project's chatbot side, started and stopped together: inbound events to funnel work, bots by long
 * polling, timer triggers, the watch for people stuck on a step, and the admin inbox's relay to the
 * admins' Telegram chat.
 */
export class ProjectFunnels {
  readonly runtime: FunnelRuntime;
  private readonly timers: TimerTriggers;
  private readonly pollers: BotPollers;
  private readonly stuck: StuckWatch;
  private readonly relay: AdminRelay;

  constructor(engine: ProjectEngine, http: HttpClient, log: Logger) {
    this.runtime = new FunnelRuntime(engine, log.child({ part: 'funnels' }), new LlmTriggerMatcher(engine.connections, http));
    this.timers = new TimerTriggers(engine, log.child({ part: 'timers' }));
    this.pollers = new BotPollers(engine, () => this.runtime.signal(), log.child({ part: 'bots' }));
    this.stuck = new StuckWatch(engine, log.child({ part: 'stuck' }));
    this.relay = new AdminRelay(engine, http, log.child({ part: 'admin-chat' }));
  }

  start(): void {
    this.runtime.start();
    this.timers.start();
    this.pollers.start();
    this.stuck.start();
    this.relay.start();
  }

  /** What feeds the runtime stops first, then the runtime (it finishes the events under way). */
  async stop(): Promise<void> {
    await Promise.all([this.timers.stop(), this.pollers.stop(), this.stuck.stop(), this.relay.stop()]);
    await this.runtime.stop();
  }
}
