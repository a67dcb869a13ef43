import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { protoImage, runBookstore, startServerProcess, startTestApp, tempDir, testConfig, testSecret } from "./harness.js";
import { freePort } from "../scripts/free-port.js";
import { makeCertificate } from "./http/wire-clients.js";

describe("TLS: one port negotiates HTTP/2 or HTTP/1.1 by ALPN", () => {
  const dir = tempDir();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let ca: Buffer;
  let cert: string;
  before(async () => {
    const made = makeCertificate(dir.path);
    ({ cert, ca } = made);
    const key = made.key;
    const base = testConfig(dir.path);
    const config: Config = { ...base, tls: { certFile: cert, keyFile: key } };
    app = await startTestApp(config, { only: "search" });
  });
  after(async () => {
    await app.close(100);
    dir.remove();
  });

  test("Connect over HTTP/1.1 and HTTP/2, gRPC and gRPC-Web, all over TLS", async () => {
    const baseUrl = `https://localhost:${app.ports.search}`;
    const transports = [
      createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { ca } }),
      createConnectTransport({ baseUrl, httpVersion: "2", nodeOptions: { ca } }),
      createGrpcTransport({ baseUrl, nodeOptions: { ca } }),
      createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { ca } }),
    ];
    for (const t of transports) await createClient(SearchService, t).ping({});
  });

  test("the client commands trust a CA given with --cacert, and only then", async () => {
    const url = `https://localhost:${app.ports.search}`;
    for (const protocol of ["connect", "grpc", "grpcweb"]) {
      const ok = await runBookstore(["ping", "--url", url, "--protocol", protocol, "--cacert", cert]);
      assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, "ok\n", ""], protocol);
      const untrusted = await runBookstore(["ping", "--url", url, "--protocol", protocol]);
      assert.equal(untrusted.code, 1, protocol);
      assert.match(untrusted.stderr, /^(unavailable|internal): self[- ]signed certificate/i, protocol);
    }
    const missing = await runBookstore(["ping", "--url", url, "--cacert", `${cert}.missing`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^bookstore: --cacert: cannot read .*\.missing \(ENOENT\)\n/);
  });

  test("buf curl over TLS with the test's CA, gRPC and Connect", async () => {
    for (const protocol of ["grpc", "connect"]) {
      const { stdout } = await promisify(execFile)("node_modules/.bin/buf", [
        "curl", "--schema", protoImage(), "--protocol", protocol, "--cacert", cert, "-d", "{}",
        `https://localhost:${app.ports.search}/search.v1.SearchService/Ping`,
      ]);
      assert.equal(stdout.trim(), "{}");
    }
  });

  test("a client that does not trust the certificate is refused: the certificate fails verification", async () => {
    const baseUrl = `https://localhost:${app.ports.search}`;
    const untrusting = {
      "Connect over HTTP/1.1": createConnectTransport({ baseUrl, httpVersion: "1.1" }),
      "Connect over HTTP/2": createConnectTransport({ baseUrl, httpVersion: "2" }),
      gRPC: createGrpcTransport({ baseUrl }),
    };
    for (const [name, transport] of Object.entries(untrusting)) {
      await assert.rejects(createClient(SearchService, transport).ping({}), (err: unknown) => {
        assert.ok(err instanceof ConnectError, name);
        // connect-node reports a failed TLS handshake as internal, with node:tls's error as the cause
        assert.equal(err.code, Code.Internal, name);
        assert.equal((err.cause as NodeJS.ErrnoException | undefined)?.code, "DEPTH_ZERO_SELF_SIGNED_CERT", name);
        // Node 24 adds a hint about --use-system-ca to node:tls's message
        assert.match(err.rawMessage, /^self-signed certificate(;|$)/, name);
        return true;
      });
    }
  });
});

describe("CORS for browser clients", () => {
  const dir = tempDir();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    const base = testConfig(dir.path);
    app = await startTestApp({ ...base, cors: { allowedOrigins: ["https://app.example.com"] } }, { only: "search" });
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  test("a preflight from an allowed origin gets what Connect and gRPC-Web need", async () => {
    const res = await fetch(`${app.searchUrl}/search.v1.SearchService/Do`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization,connect-protocol-version" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.match(res.headers.get("access-control-allow-methods")!, /POST/);
    const allowed = res.headers.get("access-control-allow-headers")!.toLowerCase();
    for (const h of ["content-type", "authorization", "connect-protocol-version", "x-grpc-web", "grpc-timeout"]) assert.ok(allowed.includes(h), h);
  });

  test("the actual call carries the allow and expose headers; other origins get none", async () => {
    const call = (origin: string) =>
      fetch(`${app.searchUrl}/search.v1.SearchService/Ping`, { method: "POST", headers: { origin, "content-type": "application/json" }, body: "{}" });
    const ok = await call("https://app.example.com");
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.match(ok.headers.get("access-control-expose-headers")!, /Grpc-Status/);
    const other = await call("https://evil.example.com");
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const pre = await fetch(`${app.searchUrl}/search.v1.SearchService/Do`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example.com", "access-control-request-method": "POST" },
    });
    assert.equal(pre.status, 403);
  });
});

describe("the README's TLS example, as typed", () => {
  const dir = tempDir();
  after(() => dir.remove());

  test("a certificate, tls.yaml, serve -f tls.yaml, then buf curl and bookstore ping with --cacert", async () => {
    const block = /<!-- tls -->\n```sh\n([\s\S]*?)```/.exec(readFileSync("README.md", "utf8"))?.[1];
    assert.ok(block, "README has its TLS block");
    const lines = block.replace(/\\\n\s*/g, "").split("\n").filter(Boolean);
    const at = lines.findIndex((l) => l.startsWith("npx bookstore serve"));
    assert.equal(lines[at]!.replace(/\s+#.*$/, ""), "npx bookstore serve -f tls.yaml");
    // in a directory of its own, the project's own bookstore and buf for npx, free ports for 8888/8889
    const [userPort, searchPort] = [await freePort(), await freePort()];
    const typed = (text: string) =>
      text
        .replaceAll("npx bookstore", `${process.execPath} ${resolve("bin/bookstore.js")}`)
        .replaceAll("npx buf", resolve("node_modules/.bin/buf"))
        .replaceAll("localhost:8889", `localhost:${searchPort}`);
    const sh = (script: string) => promisify(execFile)("bash", ["-euo", "pipefail", "-c", typed(script)], { cwd: dir.path });
    await sh(lines.slice(0, at).join("\n"));
    const env = { ACCESS_SECRET: testSecret(), USER_PORT: String(userPort), SEARCH_PORT: String(searchPort) };
    const server = await startServerProcess(["serve", "-f", "tls.yaml"], { cwd: dir.path, env, ready: /"service":"search".*"msg":"listening"/ });
    try {
      assert.match(server.output(), /"tls":true/);
      const { stdout } = await sh(lines.slice(at + 1).join("\n"));
      assert.deepEqual(stdout.trim().split("\n"), ["{}", "ok"]);
    } finally {
      await server.stop();
    }
  });
});
