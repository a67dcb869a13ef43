import { Code, ConnectError } from "@connectrpc/connect";
import type { Intake } from "../intake.js";
import type { NodeRequest, NodeResponse } from "../node-handler.js";

/**
 * Reads a request body, stopping just past `limit` (Connect then refuses it as too large);
 * with `refusesDeclared` (the Connect unary path, which checks Content-Length itself) a
 * declared length over the limit is not read at all.
 * Rejects with `canceled` when the call ends before the body does (the client went away, or
 * the answer was given without it), and with what `intake` throws past a bound.
 */
export function readBody(req: NodeRequest, res: NodeResponse, limit: number, intake: Intake, refusesDeclared: boolean): Promise<Buffer[]> {
  // a declared length over the limit is refused from the header alone, without reading
  if (refusesDeclared && Number(req.headers["content-length"]) > limit) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", done);
      req.off("error", onError);
      res.off("close", onClose);
    };
    const done = () => {
      stop();
      intake.finish();
      resolve(chunks);
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    const onClose = () => onError(new ConnectError("the call ended before its request body arrived", Code.Canceled));
    const onData = (chunk: Buffer) => {
      try {
        intake.take(chunk.length);
      } catch (err) {
        req.pause();
        return onError(err as Error);
      }
      chunks.push(chunk);
      size += chunk.length;
      // enough to exceed the limit even with a gRPC envelope prefix: stop reading
      if (size > limit + 5) {
        req.pause();
        done();
      }
    };
    req.on("data", onData);
    req.once("end", done);
    req.once("error", onError);
    res.once("close", onClose);
  });
}

/** A body read whole, as the async iterable Connect's parts read. */
export async function* iterate(chunks: Buffer[]): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield c;
}
