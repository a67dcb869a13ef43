import { AppError } from "../errors.js";
import { parseStrictJsonObject } from "protogate/jwt";

/**
 * Decodes a token for debugging WITHOUT verifying it: its header, its claims, and the times in
 * words. Nothing here may be trusted; the signature is not checked.
 */
export function inspectToken(token: string, nowSeconds: number): Record<string, unknown> {
  const parts = token.trim().replace(/^bearer\s+/i, "").split(".");
  if (parts.length !== 3) throw new AppError("invalid_argument", `token: expected 3 dot-separated parts, found ${parts.length}`);
  const decode = (part: string, what: string) => {
    const v = parseStrictJsonObject(Buffer.from(part, "base64url"));
    if (v === undefined) throw new AppError("invalid_argument", `token: the ${what} is not a strict JSON object`);
    return { ...v };
  };
  const header = decode(parts[0]!, "header");
  const payload = decode(parts[1]!, "payload");
  const when = (t: unknown) => {
    if (typeof t !== "number") return undefined;
    const d = t - nowSeconds;
    const span = Math.abs(d) >= 3600 ? `${Math.round(Math.abs(d) / 360) / 10} h` : `${Math.abs(d)} s`;
    return `${new Date(t * 1000).toISOString()} (${d >= 0 ? "in" : ""} ${span}${d < 0 ? " ago" : ""})`.replace("( ", "(");
  };
  return {
    verified: false,
    header,
    payload,
    times: { iat: when(payload.iat), nbf: when(payload.nbf), exp: when(payload.exp) },
    expired: typeof payload.exp === "number" ? payload.exp <= nowSeconds : undefined,
  };
}
