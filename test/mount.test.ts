import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "protogate/gen/google/rpc/error_details_pb.js";
import { freePort } from "../scripts/free-port.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { addTestUsers, tempDir, testConfig } from "./harness.js";

// The README's Fastify and Express examples, as typed: the services mounted in a host app.

const blocks = [...readFileSync("README.md", "utf8").matchAll(/<!-- mount -->\n```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe("the services inside an existing Fastify or Express app (the README's examples)", () => {
  const dir = tempDir();
  const config = testConfig(dir.path);
  before(() => addTestUsers(config, "alice"));
  after(() => dir.remove());

  test("the README has both", () => {
    assert.deepEqual(
      blocks.map((b) => /from "(fastify|express)"/.exec(b)?.[1]),
      ["fastify", "express"],
    );
  });

  for (const block of blocks) {
    const framework = /from "(fastify|express)"/.exec(block)?.[1];
    test(`${framework}: Login, Do with and without a token over Connect and gRPC-Web, Ping, its own route, SIGTERM`, async () => {
      const port = await freePort();
      // beside README.md, where its ./src imports point
      const file = `readme-mount-${framework}-${process.pid}.ts`;
      writeFileSync(file, block.replaceAll("3000", String(port)));
      const child = spawn(process.execPath, ["--import", "tsx", file], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: config.database.dataSource, ACCESS_SECRET: config.auth.accessSecret, LOG_FORMAT: "json" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      const exited = new Promise<number | null>((r) => child.on("exit", r));
      try {
        const baseUrl = `http://127.0.0.1:${port}`;
        const deadline = Date.now() + 20_000;
        for (;;) {
          const up = await fetch(`${baseUrl}/`).then((r) => r.text(), () => undefined);
          if (up !== undefined) {
            assert.equal(up, "the rest of your app");
            break;
          }
          assert.ok(Date.now() < deadline, `the app did not start: ${output}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        for (const transport of [createConnectTransport({ baseUrl, httpVersion: "1.1" }), createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })]) {
          const { accessToken } = await createClient(UserService, transport).login({ username: "alice", password: "alice-password" });
          const search = createClient(SearchService, transport);
          assert.equal((await search.do({ name: "go-zero" }, { headers: { authorization: `Bearer ${accessToken}` } })).count, 100n);
          const refused = await search.do({ name: "go-zero" }).then(
            () => assert.fail("Do without a token succeeded"),
            (e: unknown) => ConnectError.from(e),
          );
          assert.equal(refused.code, Code.Unauthenticated);
          assert.equal(refused.findDetails(ErrorInfoSchema)[0]?.reason, "TOKEN_MISSING");
          await search.ping({});
        }
        assert.match(output, /"method":"search\.v1\.SearchService\/Do".*"code":"unauthenticated"/, "the access log");
        child.kill("SIGTERM");
        assert.equal(await exited, 0, output);
      } finally {
        child.kill("SIGKILL");
        rmSync(file, { force: true });
      }
    });
  }
});
