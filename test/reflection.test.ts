import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bufCurl, startTestApp, tempDir, testConfig } from "./harness.js";

/** buf curl with no --schema: everything it knows comes from the server's reflection. */
const reflect = (args: string[]) => bufCurl(["--http2-prior-knowledge", ...args]);

describe("gRPC server reflection (v1 and v1alpha) on every port", () => {
  const dir = tempDir();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => (app = await startTestApp(testConfig(dir.path))));
  after(async () => {
    await app.close();
    dir.remove();
  });

  const infrastructure = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

  for (const reflectProtocol of ["grpc-v1", "grpc-v1alpha"]) {
    for (const protocol of ["grpc", "connect"]) {
      test(`buf curl --list-services, --list-methods and calls without --schema (${reflectProtocol}, ${protocol})`, async () => {
        const flags = ["--protocol", protocol, "--reflect-protocol", reflectProtocol];
        const users = await reflect([...flags, "--list-services", app.userUrl]);
        assert.equal(users.code, 0, users.stderr);
        assert.deepEqual(users.stdout.trim().split("\n"), [...infrastructure, "user.v1.UserService"]);

        const methods = await reflect([...flags, "--list-methods", app.searchUrl]);
        assert.equal(methods.code, 0, methods.stderr);
        assert.ok(methods.stdout.includes("search.v1.SearchService/Do\nsearch.v1.SearchService/Ping\n"), methods.stdout);

        const ping = await reflect([...flags, "-d", "{}", `${app.searchUrl}/search.v1.SearchService/Ping`]);
        assert.equal(ping.code, 0, ping.stderr);
        const denied = await reflect([...flags, "-d", '{"name":"go-zero"}', `${app.searchUrl}/search.v1.SearchService/Do`]);
        assert.equal(denied.code, 16 * 8, denied.stderr);
        const health = await reflect([...flags, "-d", '{"service":"user.v1.UserService"}', `${app.userUrl}/grpc.health.v1.Health/Check`]);
        assert.deepEqual(JSON.parse(health.stdout), { status: "SERVING" });
      });
    }
  }
});
