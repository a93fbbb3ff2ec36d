/**
 * The earliest run_at of any task (null: none), while known: every write of a run_at passes through
 * the store and lowers it, so an engine turn with nothing due costs no query (a message-driven engine
 * wakes thousands of times a second). Unknown after a claim; forgotten after `trustMs` anyway, so that
 * a write this bookkeeping missed delays a task by at most that.
 */
export class EarliestDue {
  private hint: { at: number | null; since: number } | undefined;

  constructor(private readonly trustMs = 1000) {}

  /** The earliest run_at, or undefined when it must be read from the table. */
  known(now: number): number | null | undefined {
    if (this.hint && now - this.hint.since > this.trustMs) this.hint = undefined;
    return this.hint?.at;
  }

  /** Read from the table at `now`. */
  set(at: number | null, now: number): void {
    this.hint = { at, since: now };
  }

  forget(): void {
    this.hint = undefined;
  }

  /** A run_at was written: the earliest may be earlier now. */
  note(runAt: number | null): void {
    const h = this.hint;
    if (h && runAt !== null && (h.at === null || runAt < h.at)) h.at = runAt;
  }
}

/**
 * Fair shares of a claim of `limit` tasks over `processes`: each gets an equal part, and what one
 * leaves the others take. A backlog of one process (an import) thus slows another process's tasks by
 * one share of a batch, not by the whole backlog. `claim(process, n)` claims up to n, oldest first.
 */
export function claimFairly<T>(processes: string[], limit: number, claim: (process: string, n: number) => T[]): T[] {
  const claimed: T[] = [];
  let open = processes;
  while (open.length > 0 && claimed.length < limit) {
    const share = Math.ceil((limit - claimed.length) / open.length);
    const more: string[] = [];
    for (const p of open) {
      const rows = claim(p, Math.min(share, limit - claimed.length));
      claimed.push(...rows);
      if (rows.length === share) more.push(p);
      if (claimed.length >= limit) break;
    }
    open = more;
  }
  return claimed;
}
