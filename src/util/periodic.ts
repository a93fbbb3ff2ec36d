/**
 * Runs `work` over and over, `every()` ms after each run ends (so runs never overlap), until stopped.
 * `stop()` cancels the wait and resolves once a run under way has finished; `running` lets a long run
 * end early. A run that throws is reported to `onError` and the next one comes as usual.
 */
export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<void> | null = null;
  running = false;

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly every: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** `now`: the first run at once, else after the first wait. */
  start(opts: { now?: boolean } = {}): void {
    this.running = true;
    if (opts.now) this.run();
    else this.wait();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.current;
  }

  private wait(): void {
    if (this.running) this.timer = setTimeout(() => this.run(), this.every());
  }

  private run(): void {
    this.timer = null;
    this.current = this.work()
      .then(() => undefined, (err) => this.onError(err))
      .finally(() => {
        this.current = null;
        this.wait();
      });
  }
}
