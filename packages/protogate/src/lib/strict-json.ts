/** Deepest nesting accepted in a JWT header or payload. */
export const maxJsonDepth = 8;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes base64url bytes as a JSON object, more strictly than `JSON.parse`: valid UTF-8, no
 * byte-order mark, an object at the top, no duplicate member names at any depth (parsers that
 * keep the first and parsers that keep the last would otherwise disagree about the claims), no
 * non-finite numbers, at most {@link maxJsonDepth} levels. Objects have no prototype, so a
 * `__proto__` member is only data. Returns undefined when the input is not acceptable.
 *
 * `JSON.parse` checks the grammar; duplicates are what it hides (the last one wins), so the
 * member names in the text are counted and compared with the members it kept.
 */
export function parseStrictJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const kept = { members: 0 };
  if (!walk(value, 0, kept)) return undefined;
  return kept.members === countMemberNames(text) ? (value as Record<string, unknown>) : undefined;
}

/** Checks depth and numbers, strips prototypes, and counts the members JSON.parse kept. */
function walk(value: unknown, depth: number, kept: { members: number }): boolean {
  if (depth > maxJsonDepth) return false;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (!walk(v, depth + 1, kept)) return false;
    return true;
  }
  Object.setPrototypeOf(value, null);
  for (const key in value) {
    kept.members++;
    if (!walk((value as Record<string, unknown>)[key], depth + 1, kept)) return false;
  }
  return true;
}

/** Member names in grammatical JSON: strings followed (after white space) by a colon. */
function countMemberNames(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 0x22) continue; // "
    i++;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) i += 2; // \ and the escaped character
      else if (c === 0x22) break;
      else i++;
    }
    let j = i + 1;
    while (j < text.length) {
      const c = text.charCodeAt(j);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      j++;
    }
    if (text.charCodeAt(j) === 0x3a) count++; // :
  }
  return count;
}
