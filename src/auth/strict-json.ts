/** Deepest nesting accepted in a JWT header or payload. */
export const maxJsonDepth = 8;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes base64url bytes as a JSON object, more strictly than `JSON.parse`: valid UTF-8, no
 * byte-order mark, an object at the top, no duplicate member names at any depth (parsers that
 * keep the first and parsers that keep the last would otherwise disagree about the claims), no
 * non-finite numbers, at most {@link maxJsonDepth} levels. Objects have no prototype, so a
 * `__proto__` member is only data. Returns undefined when the input is not acceptable.
 */
export function parseStrictJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff) return undefined;
  const p = { text, i: 0 };
  try {
    skipWs(p);
    if (text[p.i] !== "{") return undefined;
    const value = parseValue(p, 0) as Record<string, unknown>;
    skipWs(p);
    return p.i === text.length ? value : undefined;
  } catch {
    return undefined;
  }
}

interface Cursor {
  text: string;
  i: number;
}

class Reject extends Error {}

function skipWs(p: Cursor): void {
  while (p.i < p.text.length) {
    const c = p.text.charCodeAt(p.i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
    p.i++;
  }
}

function parseValue(p: Cursor, depth: number): unknown {
  if (depth > maxJsonDepth) throw new Reject();
  skipWs(p);
  const c = p.text[p.i];
  if (c === "{") return parseObject(p, depth + 1);
  if (c === "[") return parseArray(p, depth + 1);
  if (c === '"') return parseString(p);
  if (c === "t" || c === "f" || c === "n") {
    for (const [word, value] of literals) {
      if (p.text.startsWith(word, p.i)) {
        p.i += word.length;
        return value;
      }
    }
    throw new Reject();
  }
  const m = match(numberToken, p);
  const n = Number(m[0]);
  if (!Number.isFinite(n)) throw new Reject();
  return n;
}

function parseObject(p: Cursor, depth: number): Record<string, unknown> {
  const obj = Object.create(null) as Record<string, unknown>;
  p.i++; // {
  skipWs(p);
  if (p.text[p.i] === "}") {
    p.i++;
    return obj;
  }
  for (;;) {
    skipWs(p);
    if (p.text[p.i] !== '"') throw new Reject();
    const key = parseString(p);
    if (Object.hasOwn(obj, key)) throw new Reject();
    skipWs(p);
    if (p.text[p.i] !== ":") throw new Reject();
    p.i++;
    obj[key] = parseValue(p, depth);
    skipWs(p);
    const c = p.text[p.i++];
    if (c === "}") return obj;
    if (c !== ",") throw new Reject();
  }
}

function parseArray(p: Cursor, depth: number): unknown[] {
  const arr: unknown[] = [];
  p.i++; // [
  skipWs(p);
  if (p.text[p.i] === "]") {
    p.i++;
    return arr;
  }
  for (;;) {
    arr.push(parseValue(p, depth));
    skipWs(p);
    const c = p.text[p.i++];
    if (c === "]") return arr;
    if (c !== ",") throw new Reject();
  }
}

function parseString(p: Cursor): string {
  // the JSON string grammar; JSON.parse then does the unescaping, when there is any
  const token = match(stringToken, p)[0];
  return token.includes("\\") ? (JSON.parse(token) as string) : token.slice(1, -1);
}

const literals = [
  ["true", true],
  ["false", false],
  ["null", null],
] as const;

const numberToken = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const stringToken = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Matches a sticky token at the cursor and moves past it. */
function match(token: RegExp, p: Cursor): RegExpExecArray {
  token.lastIndex = p.i;
  const m = token.exec(p.text);
  if (m === null) throw new Reject();
  p.i = token.lastIndex;
  return m;
}
