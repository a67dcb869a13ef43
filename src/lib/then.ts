/**
 * `f` of a value, or of a promise's value once it settles: a value in hand is used at once, not
 * a microtask later (a warm cache's answer costs no promise).
 */
export function then<T, R>(value: T | Promise<T>, f: (v: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(f) : f(value);
}
