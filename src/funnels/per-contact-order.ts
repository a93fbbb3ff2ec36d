/**
 * Runs jobs for many people at once but one person's jobs one at a time, in the order given: a
 * person's second message must see what their first one did (the funnel it started, the step it
 * answered), while other people's messages need not wait for it. Jobs running at once also share
 * the store's group commits, which is where the throughput comes from.
 */
export class PerContactOrder {
  /** The last job queued per person: the next one of theirs starts after it. */
  private readonly tails = new Map<string, Promise<void>>();
  private running = 0;
  private idle: Array<() => void> = [];

  /** Jobs queued and not yet finished. */
  get size(): number {
    return this.running;
  }

  /** Queues `job` after the person's earlier jobs; `job` must not throw (it is the caller's to log). */
  run(key: string, job: () => Promise<void>): void {
    this.running += 1;
    const tail = (this.tails.get(key) ?? Promise.resolve()).then(job).finally(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
      this.running -= 1;
      const waiting = this.idle;
      this.idle = [];
      for (const w of waiting) w();
    });
    this.tails.set(key, tail);
  }

  /** Resolves when some job has finished (or at once if none runs). */
  finishedOne(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Resolves when every queued job has finished. */
  async drained(): Promise<void> {
    while (this.running > 0) await this.finishedOne();
  }
}
