// Transport plumbing, nothing to do with protogate: one cleartext port that serves HTTP/1.1
// (curl, fetch, browsers: Connect and gRPC-Web) and HTTP/2 (gRPC too). Node's HTTP/2 server
// takes HTTP/1.1 only with TLS, so each connection is routed by its first bytes: an HTTP/2
// connection opens with "PRI * HTTP/2.0". If you only need HTTP/2, `http2.createServer(handler)`
// is enough.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { connectNodeAdapter } from "@connectrpc/connect-node";

/** Serves `handler` on `port` (0: any free port); `close` ends every connection. */
export async function listen(handler: ReturnType<typeof connectNodeAdapter>, port: number) {
  const h1 = http.createServer(handler);
  const h2 = http2.createServer(handler);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => socket.destroy()).once("close", () => sockets.delete(socket));
    socket.once("data", (chunk) => {
      socket.pause();
      socket.unshift(chunk);
      const isHttp2 = chunk.toString("latin1", 0, 3) === "PRI";
      (isHttp2 ? h2 : h1).emit("connection", socket);
      if (!isHttp2) socket.resume();
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  return { url: `http://localhost:${(server.address() as net.AddressInfo).port}`, close };
}
