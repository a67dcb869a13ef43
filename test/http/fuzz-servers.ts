// The servers the fuzz suite sends to: the lean unary path and Connect's own path, each in
// cleartext and over TLS, each with its own copy of the same seeded database.
import http from "node:http";
import https from "node:https";
import { join } from "node:path";
import type { Config } from "../../src/config.js";
import { openStorage } from "../../src/service-context.js";
import { addUser } from "../../src/user/manage-users.js";
import { startTestApp, testConfig, testPasswordCost } from "../harness.js";
import { sendFuzzRequest, type FuzzAnswer, type FuzzRequest } from "./fuzz-requests.js";
import { makeCertificate, parseHttp1, rawExchange, type Target } from "./wire-clients.js";

type App = Awaited<ReturnType<typeof startTestApp>>;

interface Served {
  app: App;
  tls?: { ca: Buffer };
  token: string;
}

/** A lean and a stock server for each of cleartext and TLS, with what a fuzz run needs of them. */
export interface FuzzServers {
  /** Timeouts are short so that a request that makes the server wait costs little. */
  readonly config: Config;
  send(req: FuzzRequest, which: "lean" | "stock"): Promise<FuzzAnswer>;
  /** Whether the server that took `req` still answers a plain Ping. */
  pings(req: FuzzRequest, which: "lean" | "stock"): Promise<boolean>;
  close(): Promise<void>;
}

export async function startFuzzServers(dir: string): Promise<FuzzServers> {
  const made = makeCertificate(dir);
  const servers: Record<string, Served> = {};
  let config: Config | undefined;
  for (const tls of [false, true]) {
    for (const lean of [true, false]) {
      const name = `${lean ? "lean" : "stock"}-${tls ? "tls" : "clear"}`;
      const base = testConfig(dir, { dataSource: `sqlite:${join(dir, `${name}.db`)}` });
      config = { ...base, limits: { ...base.limits, headersTimeoutMs: 1000, requestTimeoutMs: 1000 }, tls: tls ? { certFile: made.cert, keyFile: made.key } : base.tls };
      const storage = await openStorage(config, { passwordCost: testPasswordCost });
      await addUser(storage, { username: "alice", password: "alice-password" });
      await storage.close();
      const app = await startTestApp(config, { leanUnary: lean });
      const res = await fetch(`http://127.0.0.1:${app.ports.user}/user.v1.UserService/Login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"username":"alice","password":"alice-password"}',
      }).catch(() => undefined);
      // over TLS, fetch cannot trust the test certificate: log in through the raw client
      const token = res ? ((await res.json()) as { accessToken: string }).accessToken : await tlsLogin(app.ports.user!, made.ca);
      servers[name] = { app, tls: tls ? { ca: made.ca } : undefined, token };
    }
  }
  const agents = { clear: new http.Agent({ keepAlive: true, maxSockets: 1 }), tls: new https.Agent({ keepAlive: true, maxSockets: 1 }) };
  const pick = (req: FuzzRequest, which: "lean" | "stock") => servers[`${which}-${req.transport.endsWith("tls") ? "tls" : "clear"}`]!;
  const target = (s: Served, port: "user" | "search"): Target => ({ port: s.app.ports[port]!, tls: s.tls });
  return {
    config: config!,
    send(req, which) {
      const s = pick(req, which);
      return sendFuzzRequest(req, target(s, req.port), s.token, 4000);
    },
    pings(req, which) {
      const s = pick(req, which);
      // one kept-alive connection per server: the check costs a round trip, not a handshake
      return new Promise((resolve) => {
        const options = { host: "127.0.0.1", port: s.app.ports.search, method: "POST", path: "/search.v1.SearchService/Ping", headers: { "content-type": "application/json", "content-length": 2 }, timeout: 4000 };
        const done = (ok: boolean) => resolve(ok);
        const r = s.tls ? https.request({ ...options, agent: agents.tls, ca: s.tls.ca, servername: "localhost" }) : http.request({ ...options, agent: agents.clear });
        r.on("response", (res) => {
          res.resume();
          res.on("end", () => done(res.statusCode === 200));
        });
        r.on("error", () => done(false));
        r.on("timeout", () => r.destroy());
        r.end("{}");
      });
    },
    async close() {
      agents.clear.destroy();
      agents.tls.destroy();
      await Promise.all(Object.values(servers).map((s) => s.app.close(0)));
    },
  };
}

async function tlsLogin(port: number, ca: Buffer): Promise<string> {
  const body = '{"username":"alice","password":"alice-password"}';
  const { data } = await rawExchange({ port, tls: { ca } }, `POST /user.v1.UserService/Login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  return (JSON.parse(parseHttp1(data)!.body.toString()) as { accessToken: string }).accessToken;
}
