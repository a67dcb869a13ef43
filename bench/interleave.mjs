// Shared by bench/run.ts and bench/verify.mjs (plain JS: verify.mjs runs under plain node).

/**
 * Operations per second of `a` and of `b`, after `warmupCalls` calls of each, alternating in
 * `slices` slices of `ms / slices` each, so that a change in the machine's speed (these
 * machines are shared) falls on both alike.
 * @param {() => unknown} a
 * @param {() => unknown} b
 * @param {{ ms: number, slices?: number, warmupCalls?: number }} options
 * @returns {Promise<[number, number]>}
 */
export async function interleavedRates(a, b, { ms, slices = 6, warmupCalls = 5 }) {
  for (let i = 0; i < warmupCalls; i++) {
    await a();
    await b();
  }
  const totals = [
    [0, 0],
    [0, 0],
  ];
  for (let s = 0; s < slices; s++) {
    for (const [k, fn] of [a, b].entries()) {
      const t = performance.now();
      let n = 0;
      while (performance.now() - t < ms / slices) {
        await fn();
        n++;
      }
      totals[k][0] += n;
      totals[k][1] += performance.now() - t;
    }
  }
  const [ra, rb] = totals.map(([n, t]) => n / (t / 1000));
  return [ra, rb];
}
