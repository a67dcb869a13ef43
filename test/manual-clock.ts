import type { Clock } from "../src/clock.js";

/**
 * A clock the test moves by hand. Its own light module (test/harness.ts re-exports it), so the
 * fast tests of test/core can use it without loading the whole server.
 */
export function manualClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}
