import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

/** A cleartext HTTP/2 server (Connect, gRPC and gRPC-Web) on a loopback port chosen by the system. */
export interface H2cServer {
  readonly baseUrl: string;
  /** Ends every session (server.close() alone waits for them forever) and stops listening. */
  close(): Promise<void>;
}

export async function startH2cServer(routes: (router: ConnectRouter) => void, interceptors: Interceptor[]): Promise<H2cServer> {
  const server = http2.createServer(connectNodeAdapter({ routes, interceptors }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const s of sessions) s.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
