/** Sums over the last few minutes, in one-minute buckets: what alert rules read ("average now"). */
export class RecentWindow {
  private readonly buckets = new Map<string, Array<{ minute: number; sum: number; count: number }>>();

  constructor(private readonly minutes = 5, private readonly clock: () => number = Date.now) {}

  add(key: string, value: number): void {
    const minute = Math.floor(this.clock() / 60_000);
    let list = this.buckets.get(key);
    if (!list) this.buckets.set(key, (list = []));
    const last = list[list.length - 1];
    if (last?.minute === minute) {
      last.sum += value;
      last.count += 1;
    } else list.push({ minute, sum: value, count: 1 });
    while (list.length && list[0].minute <= minute - this.minutes) list.shift();
  }

  /** Sum and count of the values added within the window. */
  read(key: string): { sum: number; count: number } {
    const since = Math.floor(this.clock() / 60_000) - this.minutes;
    let sum = 0;
    let count = 0;
    for (const b of this.buckets.get(key) ?? []) if (b.minute > since) (sum += b.sum), (count += b.count);
    return { sum, count };
  }

  keys(prefix: string): string[] {
    return [...this.buckets.keys()].filter((k) => k.startsWith(prefix));
  }
}
