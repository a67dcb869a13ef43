/** The source of the current time, injected wherever time matters so tests never sleep. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Whole seconds since the Unix epoch, as JWT claims count them. */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
