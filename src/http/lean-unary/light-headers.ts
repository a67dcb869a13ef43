import type { IncomingHttpHeaders } from "node:http";
import { inspect } from "node:util";

const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// the fetch standard refuses NUL, CR and LF; a ByteString refuses anything above 0xFF
const badValueChar = /[\0\r\n\u0100-\uffff]/;
const whitespace = /^[\t\n\r ]+|[\t\n\r ]+$/g;

// names come from code and repeat on every call: remember the few checked ones, lower-cased
const checkedNames = new Map<string, string>();

function checkedName(name: string, op: string): string {
  const known = checkedNames.get(name);
  if (known !== undefined) return known;
  if (!headerName.test(name)) throw new TypeError(`Headers.${op}: "${name}" is an invalid header name.`);
  const lower = name.toLowerCase();
  if (checkedNames.size >= 256) checkedNames.clear();
  checkedNames.set(name, lower);
  return lower;
}

function checkedValue(value: string, op: string): string {
  const v = String(value).replace(whitespace, "");
  if (badValueChar.test(v)) throw new TypeError(`Headers.${op}: "${v}" is an invalid header value.`);
  return v;
}

/**
 * A value of Node's as undici would keep it: Node trims each field but joins repeated ones with
 * ", ", so an empty last one leaves a trailing space that undici's Headers would trim.
 */
function nodeValue(v: string): string {
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  return first === 32 || first === 9 || last === 32 || last === 9 ? v.replace(whitespace, "") : v;
}

/** The values of one name as one field value: `cookie` joined with "; ", any other with ", ". */
function joined(name: string, values: readonly string[]): string {
  return values.length === 1 ? values[0]! : values.join(name === "cookie" ? "; " : ", ");
}

/**
 * `Headers` for one call's hot path. undici's Headers validates and converts every name and
 * value on every operation (a few microseconds per call for a handful of headers); this
 * subclass keeps the same observable behaviour — names case-insensitive and checked, values
 * trimmed and checked on write, `cookie` joined with "; " and others with ", ", iteration sorted
 * by name with each `set-cookie` apart — over a plain map, and can read Node's already parsed
 * request headers in place until the first write. It is a `Headers` (its prototype chain), so
 * `instanceof` holds and `new Headers(it)` copies it.
 */
class LightHeaders extends (Headers as unknown as new () => object) {
  /** Node's parsed request headers, read in place until the first write. */
  #node: IncomingHttpHeaders | undefined;
  #map: Map<string, string[]> | undefined;

  constructor(node?: IncomingHttpHeaders) {
    super();
    this.#node = node;
  }

  #own(): Map<string, string[]> {
    if (this.#map !== undefined) return this.#map;
    const map = new Map<string, string[]>();
    const node = this.#node;
    if (node !== undefined) {
      for (const key of Object.keys(node)) {
        const v = node[key];
        if (key.startsWith(":") || v === undefined) continue;
        map.set(key, typeof v === "string" ? [nodeValue(v)] : v.map(nodeValue));
      }
      this.#node = undefined;
    }
    return (this.#map = map);
  }

  #list(name: string): readonly string[] | undefined {
    if (this.#map !== undefined) return this.#map.get(name);
    const v = this.#node?.[name];
    if (typeof v === "string") return [nodeValue(v)];
    return Array.isArray(v) ? v.map(nodeValue) : undefined;
  }

  /** Names in sorted order (as undici iterates), each with its values. */
  #sorted(): [string, readonly string[]][] {
    const out: [string, readonly string[]][] = [];
    if (this.#map !== undefined) {
      for (const [k, v] of this.#map) out.push([k, v]);
    } else if (this.#node !== undefined) {
      for (const k of Object.keys(this.#node)) {
        const v = this.#list(k);
        if (!k.startsWith(":") && v !== undefined) out.push([k, v]);
      }
    }
    return out.length < 2 ? out : out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }

  get(name: string): string | null {
    const lower = checkedName(name, "get");
    // Node's fields, still read in place: a single one's value (or none) needs no list
    if (this.#map === undefined) {
      const field = this.#node?.[lower];
      if (typeof field === "string") return nodeValue(field);
      if (field === undefined) return null;
    }
    const v = this.#list(lower);
    return v === undefined || v.length === 0 ? null : joined(lower, v);
  }

  has(name: string): boolean {
    return this.#list(checkedName(name, "has")) !== undefined;
  }

  set(name: string, value: string): void {
    const lower = checkedName(name, "set");
    this.#own().set(lower, [checkedValue(value, "set")]);
  }

  append(name: string, value: string): void {
    const lower = checkedName(name, "append");
    const v = checkedValue(value, "append");
    const map = this.#own();
    const seen = map.get(lower);
    if (seen === undefined) map.set(lower, [v]);
    else seen.push(v);
  }

  delete(name: string): void {
    const lower = checkedName(name, "delete");
    this.#own().delete(lower);
  }

  getSetCookie(): string[] {
    return [...(this.#list("set-cookie") ?? [])];
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    const self = this as unknown as Headers;
    for (const [k, v] of this.#sorted()) {
      if (k === "set-cookie" && v.length > 1) {
        for (const c of v) callback.call(thisArg, c, k, self);
      } else {
        callback.call(thisArg, joined(k, v), k, self);
      }
    }
  }

  entries(): IterableIterator<[string, string]> {
    const out: [string, string][] = [];
    this.forEach((v, k) => out.push([k, v]));
    return out[Symbol.iterator]();
  }

  keys(): IterableIterator<string> {
    return Array.from(this.entries(), ([k]) => k)[Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    return Array.from(this.entries(), ([, v]) => v)[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  [inspect.custom](depth: number, options: object): string {
    return `Headers ${inspect(Object.fromEntries(this.entries()), { ...options, depth })}`;
  }
}

/** Empty {@link LightHeaders}, or a copy of `init` (name/value pairs or a record). */
export function lightHeaders(init?: Record<string, string>): Headers {
  const h = new LightHeaders();
  if (init !== undefined) for (const [k, v] of Object.entries(init)) h.append(k, v);
  return h as unknown as Headers;
}

/**
 * Node's parsed request headers as `Headers`, read in place (pseudo-headers left out, as
 * Connect's bridge does); Node's parser has validated them, so nothing is converted up front.
 */
export function requestHeaders(node: IncomingHttpHeaders): Headers {
  return new LightHeaders(node) as unknown as Headers;
}
