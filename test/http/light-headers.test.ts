// The light Headers of the unary path against undici's Headers: the same operations, in random
// order and on both of its backings (Node's parsed headers in place, and its own map), must
// give the same answers, the same iteration and the same refusals.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lightHeaders, requestHeaders } from "../../src/http/lean-unary/light-headers.js";

const names = ["content-type", "Content-Type", "cookie", "set-cookie", "Set-Cookie", "x-a", "authorization", "trailer-x", "a", "zz", "bad name", ":path", "", "x\u0100"];
const values = ["v", "  padded\t", "a, b", "", "x\r\ny", "nul\u0000", "\u00e9t\u00e9", "\u0100", "ctl\u0001", "k=v"];

/** What an operation returned or threw, comparable across the two implementations. */
function outcome(fn: () => unknown): unknown {
  try {
    const r = fn();
    return { ok: r === undefined ? null : r };
  } catch (e) {
    return { threw: (e as Error).constructor.name };
  }
}

function snapshot(h: Headers): unknown {
  const forEach: [string, string][] = [];
  h.forEach((v, k) => forEach.push([k, v]));
  return { entries: [...h], keys: [...h.keys()], values: [...h.values()], forEach, setCookie: h.getSetCookie(), copy: [...new Headers(h)] };
}

function randomOps(seed: number): ((h: Headers) => unknown)[] {
  let x = seed;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % n;
  };
  const ops: ((h: Headers) => unknown)[] = [];
  for (let i = 0; i < 12; i++) {
    const n = names[rnd(names.length)]!;
    const v = values[rnd(values.length)]!;
    const op = ["get", "has", "set", "append", "delete", "get", "append"][rnd(7)]!;
    ops.push((h) => {
      const f = h[op as "get"] as (...a: string[]) => unknown;
      return f.call(h, n, v);
    });
  }
  return ops;
}

describe("light headers", () => {
  const node = { host: "example.com", cookie: "a=1; b=2", "set-cookie": ["x=1", "y=2"], "x-a": "one, two", authorization: "Bearer t", ":path": "/p" };

  it("reads Node's parsed headers as undici's Headers built from them would", () => {
    const real = new Headers();
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith(":")) continue;
      for (const e of typeof v === "string" ? [v] : v) real.append(k, e);
    }
    const light = requestHeaders(node);
    assert.ok(light instanceof Headers);
    assert.deepEqual(snapshot(light), snapshot(real));
    for (const n of names) assert.deepEqual(outcome(() => light.get(n)), outcome(() => real.get(n)), n);
    for (const n of names) assert.deepEqual(outcome(() => light.has(n)), outcome(() => real.has(n)), n);
    assert.equal(light.get("constructor"), null);
    assert.equal(light.has("__proto__"), false);
    assert.deepEqual(node["set-cookie"], ["x=1", "y=2"], "Node's object is not changed");
  });

  it("answers every operation as undici's Headers does, on either backing", () => {
    for (let seed = 1; seed <= 400; seed++) {
      const start: Record<string, string> = seed % 2 ? { "content-type": "application/json" } : {};
      const real = new Headers(start);
      const light = seed % 3 === 0 ? requestHeaders({ ...start }) : lightHeaders(start);
      for (const [i, op] of randomOps(seed).entries()) {
        assert.deepEqual(outcome(() => op(light)), outcome(() => op(real)), `seed ${seed} op ${i}`);
        assert.deepEqual(snapshot(light), snapshot(real), `seed ${seed} after op ${i}`);
      }
    }
  });

  it("a write leaves Node's object alone", () => {
    const n: Record<string, string> = { a: "1" };
    const h = requestHeaders(n);
    h.set("a", "2");
    h.append("b", "3");
    assert.deepEqual(n, { a: "1" });
    assert.deepEqual([...h], [["a", "2"], ["b", "3"]]);
  });

  it("reads Node's joined repeats as undici does: an empty last value leaves no trailing space", () => {
    // Node joins "grpc-encoding: zstd" and "grpc-encoding:" into "zstd, " (found by npm run fuzz)
    const n = { "grpc-encoding": "zstd, ", "x-a": " padded\t", "set-cookie": ["a=1 ", "b=2"] };
    const light = requestHeaders(n);
    const real = new Headers();
    for (const [k, v] of Object.entries(n)) for (const one of [v].flat()) real.append(k, one);
    for (const k of Object.keys(n)) assert.equal(light.get(k), real.get(k), k);
    assert.deepEqual([...light], [...real]);
  });
});
