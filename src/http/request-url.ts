import type { NodeRequest } from "./node-handler.js";

const urls = new Map<string, string>();

/**
 * The request's absolute URL, spelled as connect-node spells it (`new URL(path, origin)` from
 * the socket's scheme and the `:authority` or `Host`), or undefined when the request names no
 * authority (HTTP/1.0 without `Host`) or one that does not parse (`a b`, `a:99999`, `[`).
 * Node's parsers let such values through and `new URL` throws on them, so every request is
 * checked here before anything builds its URL. Clients send the same few authority and path
 * pairs over and over, so the parsed spelling is remembered (up to 256).
 */
export function requestUrl(req: NodeRequest): string | undefined {
  const authority = "authority" in req ? req.authority : req.headers.host;
  if (typeof authority !== "string" || authority === "") return undefined;
  const encrypted = "encrypted" in req.socket && req.socket.encrypted === true;
  const origin = `${encrypted ? "https" : "http"}://${authority}`;
  const path = req.url ?? "";
  const key = `${origin}\n${path}`;
  let url = urls.get(key);
  if (url === undefined) {
    if (!URL.canParse(path, origin)) return undefined;
    url = new URL(path, origin).toString();
    if (urls.size >= 256) urls.clear();
    urls.set(key, url);
  }
  return url;
}
