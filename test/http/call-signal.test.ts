// A call's signal when the client goes away, on the lean unary path and on Connect's own
// (leanUnary: false): aborted, for a reason that reads as Canceled, while the handler waits on
// it (HTTP/1.1 and an HTTP/2 stream reset), and found aborted by a handler that looks after the
// client has gone. Real servers, real sockets.
import assert from "node:assert/strict";
import { request as h1request } from "node:http";
import { connect as h2connect } from "node:http2";
import { after, describe, test } from "node:test";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { SearchService } from "../../src/gen/search/v1/search_pb.js";
import { createNodeAdapter } from "../../src/http/node-adapter.js";
import { createLogger } from "../../src/logger.js";
import { createPortServer } from "../../src/server.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a handler saw of its signal. */
interface Seen {
  aborted: boolean;
  code: Code | undefined;
}

function serve(lean: boolean) {
  let resolveSeen: (s: Seen) => void = () => {};
  const seen = () => new Promise<Seen>((r) => (resolveSeen = r));
  const report = (ctx: HandlerContext) => {
    const aborted = ctx.signal.aborted;
    resolveSeen({ aborted, code: aborted ? ConnectError.from(ctx.signal.reason).code : undefined });
  };
  const handler = createNodeAdapter({
    leanUnary: lean,
    routes(router) {
      router.service(SearchService, {
        // waits on the signal from the start
        async do(_req, ctx) {
          await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r(), { once: true }));
          report(ctx);
          return { name: "x", count: 0n };
        },
        // looks at the signal only after the client has gone
        async ping(_req, ctx) {
          await sleep(300);
          report(ctx);
          return {};
        },
      });
    },
  });
  const server = createPortServer(handler, { logger: createLogger({ name: "test", level: "silent" }) });
  return { server, seen };
}

/** Sends a Connect JSON call over HTTP/1.1 and drops the connection after `ms`. */
function abandonHttp1(port: number, method: string, ms: number): void {
  const req = h1request({ host: "127.0.0.1", port, path: `/search.v1.SearchService/${method}`, method: "POST", headers: { "content-type": "application/json" } });
  req.on("error", () => {});
  req.end("{}");
  setTimeout(() => req.destroy(), ms);
}

/** Sends a gRPC call over HTTP/2 and resets the stream after `ms`. */
function abandonGrpc(port: number, method: string, ms: number): void {
  const session = h2connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const stream = session.request({ ":method": "POST", ":path": `/search.v1.SearchService/${method}`, "content-type": "application/grpc", te: "trailers" });
  stream.on("error", () => {});
  stream.end(Buffer.from([0, 0, 0, 0, 0]));
  setTimeout(() => {
    stream.close(0x8); // CANCEL
    setTimeout(() => session.close(), 50);
  }, ms);
}

for (const lean of [true, false]) {
  describe(`the call's signal (${lean ? "lean unary path" : "Connect's path"})`, () => {
    const { server, seen } = serve(lean);
    let port = 0;
    after(() => server.close(0));

    test("aborted with Canceled when an HTTP/1.1 client goes away mid-call", { timeout: 5000 }, async () => {
      port ||= await server.listen(0, "127.0.0.1");
      const s = seen();
      abandonHttp1(port, "Do", 100);
      assert.deepEqual(await s, { aborted: true, code: Code.Canceled });
    });

    test("found aborted by a handler that looks after the client went away", { timeout: 5000 }, async () => {
      port ||= await server.listen(0, "127.0.0.1");
      const s = seen();
      abandonHttp1(port, "Ping", 50);
      assert.deepEqual(await s, { aborted: true, code: Code.Canceled });
    });

    test("aborted with Canceled when a gRPC stream is reset mid-call", { timeout: 5000 }, async () => {
      port ||= await server.listen(0, "127.0.0.1");
      const s = seen();
      abandonGrpc(port, "Do", 100);
      assert.deepEqual(await s, { aborted: true, code: Code.Canceled });
    });
  });
}
