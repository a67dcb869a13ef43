import type { OutgoingHttpHeaders } from "node:http";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { NodeResponse } from "../node-handler.js";

type HeadersArg = ConstructorParameters<typeof Headers>[0];

/** Runs the response to its end, then writes it at once. */
export async function writeWhole(uRes: UniversalServerResponse, res: NodeResponse): Promise<void> {
  const parts: Uint8Array[] = [];
  if (uRes.body !== undefined) {
    for await (const chunk of uRes.body as AsyncIterable<Uint8Array>) parts.push(chunk);
  }
  send(res, uRes.status, uRes.header, uRes.trailer, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
}

/** Writes status, headers, body and trailers (if any) in one go, unless the client has gone. */
export function send(res: NodeResponse, status: number, header: HeadersArg, trailer: HeadersArg | undefined, body: Uint8Array): void {
  if (res.destroyed) return;
  res.writeHead(status, nodeHeaders(header));
  if (trailer !== undefined) res.addTrailers(nodeHeaders(trailer));
  res.end(body);
}

/** Web Headers as a Node header object, as Connect's bridge converts them. */
function nodeHeaders(headers: HeadersArg): OutgoingHttpHeaders {
  const o: OutgoingHttpHeaders = Object.create(null);
  if (headers === undefined) return o;
  (headers instanceof Headers ? headers : new Headers(headers)).forEach((value, key) => {
    const seen = o[key];
    if (seen === undefined) o[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else o[key] = [String(seen), value];
  });
  return o;
}
