import { Code, ConnectError } from "@connectrpc/connect";
import type { NodeResponse } from "../node-handler.js";

/**
 * The signal of one call: aborted with Canceled when the client goes away (connection closed,
 * HTTP/2 stream reset) before the response is written. (Connect's bridge aborts with an
 * AbortError over HTTP/1.1 and maps an HTTP/2 reset code; both read as Canceled through
 * ConnectError.from.) Made per call and eagerly: a lazy one needs accessor properties on the
 * request and context objects, which measured slower than the AbortController they save.
 */
export function callSignal(res: NodeResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    // headers not sent: the response never went out (HTTP/2's writableFinished is true on any close)
    if (!res.headersSent) controller.abort(new ConnectError("the client went away", Code.Canceled));
  });
  return controller.signal;
}
