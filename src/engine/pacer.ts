import type { PaceRequest } from './node-type.ts';

/** How long a lane's queue may grow, in seconds of its throughput, before tasks wait in the store. */
const QUEUE_SECONDS = 10;
const SWEEP_EVERY = 1000;

interface Queued<T> {
  item: T;
  /** Items may share a call only with items of the same group (one node of one process version). */
  group: string;
  batch: number;
}

interface Lane<T> {
  req: PaceRequest;
  tokens: number;
  refilledAt: number;
  pausedUntil: number;
  queue: Array<Queued<T>>;
  timer: NodeJS.Timeout | null;
  /** Where the next task sent back to the store should come back: spread at the lane's throughput. */
  backlogUntil: number;
  /** The connection's lane a narrower lane (one chat) also draws from. */
  parent: Lane<T> | null;
}

/**
 * Paces calls to rate-limited services: one lane per pace key (a connection), a token bucket of
 * `perSecond` with `burst`, and a short in-memory queue. A lane hands its callback up to `batch` items
 * per token. Tasks beyond the queue stay in the store, scheduled for when their turn should come, so a
 * burst of 100,000 leads waits durably instead of in memory or as errors at the CRM.
 */
export class Pacer<T> {
  private readonly lanes = new Map<string, Lane<T>>();
  /** Lanes made so far: every SWEEP_EVERY-th runs a sweep of idle chat lanes. */
  private created = 0;

  constructor(private readonly dispatch: (key: string, items: T[]) => void, private readonly clock: () => number = Date.now) {}

  /**
   * Whether the lane has room for one more task now: null if so, else when the task should be offered
   * again (the caller keeps it in the store until then). Times handed out are spread at the lane's
   * throughput, so tasks sent back come back about when their turn is.
   */
  admit(req: PaceRequest): number | null {
    const lane = this.lane(req);
    const now = this.clock();
    const perItem = 1000 / (req.perSecond * (req.batch ?? 1));
    if (lane.queue.length < Math.max(2 * (req.batch ?? 1), (QUEUE_SECONDS * 1000) / perItem)) return null;
    const at = Math.max(lane.backlogUntil, now + lane.queue.length * perItem, lane.pausedUntil);
    lane.backlogUntil = at + perItem;
    return Math.round(at);
  }

  /**
   * Queues an admitted item; the lane hands it to `dispatch` in its turn, together with up to
   * `req.batch - 1` later items of the same `group` (several nodes may share one connection's lane).
   */
  enqueue(req: PaceRequest, item: T, group = ''): void {
    const lane = this.lane(req);
    lane.queue.push({ item, group, batch: req.batch ?? 1 });
    this.pump(req.key, lane);
  }

  /** The service asked to slow down: nothing leaves this lane (and the lanes under it) for `ms`. */
  slowDown(key: string, ms: number): void {
    // A connection's pause holds its narrower lanes too (`telegram:default:chat:42`).
    for (const [k, lane] of this.lanes) {
      if (k !== key && !k.startsWith(`${key}:`)) continue;
      lane.pausedUntil = Math.max(lane.pausedUntil, this.clock() + ms);
      lane.tokens = 0;
      this.schedule(k, lane);
    }
  }

  /** Items queued in memory per key, for metrics. */
  queued(): Record<string, number> {
    return Object.fromEntries([...this.lanes].map(([k, l]) => [k, l.queue.length]));
  }

  /** Drops every queued item (they are leased in the store and come back after the lease). */
  stop(): T[] {
    const left: T[] = [];
    for (const lane of this.lanes.values()) {
      if (lane.timer) clearTimeout(lane.timer);
      left.push(...lane.queue.splice(0).map((q) => q.item));
    }
    return left;
  }

  private lane(req: PaceRequest): Lane<T> {
    let lane = this.lanes.get(req.key);
    if (!lane) {
      if (++this.created % SWEEP_EVERY === 0) this.sweep();
      lane = { req, tokens: req.burst, refilledAt: this.clock(), pausedUntil: 0, queue: [], timer: null, backlogUntil: 0, parent: null };
      this.lanes.set(req.key, lane);
    }
    lane.req = req; // a connection's rate may have changed
    lane.parent = req.within ? this.lane(req.within) : null;
    return lane;
  }

  /**
   * Forgets the narrower lanes (one per chat) that are back to a full bucket with nothing queued or
   * paused: a new one would be the same. Without this a bot that met 100,000 people keeps 100,000
   * lanes, and each slow-down walks them all. Connection lanes stay (few, and chat lanes point to them).
   */
  private sweep(): void {
    const now = this.clock();
    for (const [k, lane] of this.lanes) {
      if (!lane.req.within || lane.queue.length || lane.timer || lane.pausedUntil > now || lane.backlogUntil > now) continue;
      this.refill(lane, now);
      if (lane.tokens >= lane.req.burst) this.lanes.delete(k);
    }
  }

  private refill(lane: Lane<T>, now: number): void {
    lane.tokens = Math.min(lane.req.burst, lane.tokens + ((now - lane.refilledAt) * lane.req.perSecond) / 1000);
    lane.refilledAt = now;
  }

  private pump(key: string, lane: Lane<T>): void {
    const now = this.clock();
    this.refill(lane, now);
    const parent = lane.parent;
    if (parent) this.refill(parent, now);
    while (lane.queue.length && lane.tokens >= 1 && now >= lane.pausedUntil && (!parent || (parent.tokens >= 1 && now >= parent.pausedUntil))) {
      lane.tokens -= 1;
      if (parent) parent.tokens -= 1;
      this.dispatch(key, takeBatch(lane.queue));
    }
    if (lane.queue.length) this.schedule(key, lane);
  }

  private schedule(key: string, lane: Lane<T>): void {
    if (lane.timer) return;
    const now = this.clock();
    const refillMs = (l: Lane<T>) => (l.tokens >= 1 ? 0 : ((1 - l.tokens) * 1000) / l.req.perSecond);
    const p = lane.parent;
    const wait = Math.max(lane.pausedUntil - now, refillMs(lane), p ? p.pausedUntil - now : 0, p ? refillMs(p) : 0, 1);
    lane.timer = setTimeout(() => {
      lane.timer = null;
      this.pump(key, lane);
    }, wait);
    lane.timer.unref?.();
  }
}

/** The first queued item and up to its batch size of later ones from the same group, in order. */
function takeBatch<T>(queue: Array<Queued<T>>): T[] {
  const first = queue.shift()!;
  const out = [first.item];
  if (first.batch <= 1) return out;
  for (let i = 0; i < queue.length && out.length < first.batch; ) {
    if (queue[i].group === first.group) out.push(queue.splice(i, 1)[0].item);
    else i++;
  }
  return out;
}
