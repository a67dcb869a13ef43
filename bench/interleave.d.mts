export function interleavedRates(a: () => unknown, b: () => unknown, options: { ms: number; slices?: number; warmupCalls?: number }): Promise<[number, number]>;
