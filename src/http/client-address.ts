import { BlockList, isIP } from "node:net";
import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import type { NodeRequest } from "./node-handler.js";

/** The address of the client a call came from (its peer, or through trusted proxies). */
export const clientAddressKey = createContextKey<string | undefined>(undefined, { description: "client address" });

/** `::ffff:10.0.0.1` is `10.0.0.1`. */
function plain(address: string | undefined): string | undefined {
  return address?.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Tells whether an address (as a socket reports it) is one of `trustedProxies` (addresses or CIDR ranges). */
export function createTrustedCheck(trustedProxies: readonly string[]): (address: string) => boolean {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address, bits] = entry.split("/") as [string, string | undefined];
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    if (trustedProxies.length === 0) return false;
    const a = plain(address) ?? address;
    const family = isIP(a);
    return family !== 0 && trusted.check(a, family === 6 ? "ipv6" : "ipv4");
  };
}

/**
 * For the adapter's `contextValues`: records each call's client address. The connection's peer
 * is the client, unless the peer is one of `trustedProxies` (addresses or CIDR ranges, e.g. a
 * load balancer or an Envoy sidecar): then `X-Forwarded-For` is read from right to left,
 * skipping trusted hops, and the first untrusted address is the client (as Envoy with trusted
 * hops and nginx's `real_ip_recursive` do). A client cannot spoof its address by sending the
 * header itself: from an untrusted peer it is ignored, and a malformed hop stops the walk there.
 */
export function createClientAddressValues(trustedProxies: readonly string[]): (req: NodeRequest) => ContextValues {
  const isTrusted = createTrustedCheck(trustedProxies);
  return (req) => {
    let client = plain(req.socket?.remoteAddress);
    if (trustedProxies.length > 0 && client !== undefined && isTrusted(client)) {
      const header = req.headers["x-forwarded-for"];
      const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((h) => plain(h.trim())!);
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = hops[i]!;
        if (isIP(hop) === 0) break;
        client = hop;
        if (!isTrusted(hop)) break;
      }
    }
    return createContextValues().set(clientAddressKey, client);
  };
}
