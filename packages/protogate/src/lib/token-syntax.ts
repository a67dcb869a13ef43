/** Longest compact JWS accepted; anything longer is refused before it is decoded. */
export const maxTokenLength = 8192;

const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Tells whether a string is a compact JWS in canonical base64url: three non-empty segments of
 * the URL-safe alphabet, no padding or white space, no unused bits set in a segment's last
 * character, and no longer than {@link maxTokenLength}. Decoders that tolerate more (Node 20's
 * `atob` does) would let different strings verify as one token.
 */
export function isCanonicalCompactJws(token: string): boolean {
  if (token.length > maxTokenLength || !compactJws.test(token)) return false;
  let start = 0;
  for (;;) {
    const dot = token.indexOf(".", start);
    const end = dot === -1 ? token.length : dot;
    if (!isCanonicalSegment(token, start, end)) return false;
    if (dot === -1) return true;
    start = dot + 1;
  }
}

function isCanonicalSegment(s: string, start: number, end: number): boolean {
  const rest = (end - start) % 4;
  if (rest === 1) return false;
  if (rest === 0) return true;
  const last = alphabet.indexOf(s[end - 1]!);
  // 2 trailing chars carry 8 bits (4 unused), 3 carry 16 bits (2 unused)
  const unusedMask = rest === 2 ? 0b1111 : 0b11;
  return (last & unusedMask) === 0;
}
