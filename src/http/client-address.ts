import { createContextKey, createContextValues, type ContextValues } from "@connectrpc/connect";
import type { NodeHandler } from "../server.js";

/** The peer address of the connection a call came on (no proxy header is trusted). */
export const clientAddressKey = createContextKey<string | undefined>(undefined, { description: "client address" });

/** For `connectNodeAdapter({ contextValues })`: records each call's peer address. */
export function clientAddressValues(req: Parameters<NodeHandler>[0]): ContextValues {
  return createContextValues().set(clientAddressKey, req.socket?.remoteAddress);
}
