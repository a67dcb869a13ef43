import { createHash } from "node:crypto";

/** A short, non-reversible tag of a token for logs, so refusals can be correlated. */
export function tokenTag(token: string): string {
  return createHash("sha256").update(token).digest("base64url").slice(0, 12);
}
