/**
 * Where each timer trigger stands (funnels/timer-triggers.ts): the last tick it fired, and the tick
 * under way with the last contact it reached. Kept per process and trigger index; a trigger whose
 * timing (`spec`) changed starts afresh.
 */
export interface TimerTickStore {
  get(process: string, trigger: number): Promise<TimerTickState | undefined>;
  put(state: TimerTickState): Promise<void>;
}

export interface TimerTickState {
  process: string;
  trigger: number;
  /** The trigger's timing as it was when counted (timer-schedule.ts specKey). */
  spec: string;
  /** The last tick fired (epoch ms); when first seen, the moment it was seen. */
  lastTick: number;
  /** A tick being fired, not yet through the whole segment; null when none. */
  pendingTick: number | null;
  /** During a pending tick: contacts up to this id have been reached. */
  cursor: number;
}
