import type { Revocation } from "../auth/revocations.js";

/**
 * What every instance must learn at once: a revocation, or an account unlocked by
 * `bookstore user unlock` (its login limits cleared; `subject` is the username).
 */
export type AuthEvent = Revocation | { readonly kind: "unlock"; readonly subject: string; readonly notBefore: 0; readonly expiresAt: number };

const kinds: ReadonlySet<string> = new Set(["jti", "sid", "user", "unlock"]);

/** Reads an event from untrusted JSON (a pub/sub message); undefined when it is not one. */
export function parseAuthEvent(text: string): AuthEvent | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (
      typeof v.kind === "string" &&
      kinds.has(v.kind) &&
      typeof v.subject === "string" &&
      v.subject.length > 0 &&
      v.subject.length <= 128 &&
      Number.isSafeInteger(v.notBefore) &&
      Number.isSafeInteger(v.expiresAt)
    ) {
      return { kind: v.kind, subject: v.subject, notBefore: v.notBefore, expiresAt: v.expiresAt } as AuthEvent;
    }
  } catch {
    // not JSON: not an event
  }
  return undefined;
}
