import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { bufCurl, loadProtoImage, protoImage, startTestApp, tempDir, testConfig, testPasswordCost } from "./harness.js";

const password = "correct horse battery staple";

const withSchema = (args: string[]) => bufCurl(["--schema", protoImage(), ...args]);

describe("other clients: buf curl and @grpc/grpc-js", () => {
  const dir = tempDir();
  const config = testConfig(dir.path);
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    await addUser(storage, { username: "alice", password });
    await storage.close();
    app = await startTestApp(config);
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  for (const protocol of ["connect", "grpc", "grpcweb"] as const) {
    test(`buf curl --protocol ${protocol}`, async () => {
      const extra = protocol === "grpc" ? ["--protocol", protocol, "--http2-prior-knowledge"] : ["--protocol", protocol];
      const login = await withSchema([...extra, "-d", JSON.stringify({ username: "alice", password }), `${app.userUrl}/user.v1.UserService/Login`]);
      assert.equal(login.code, 0, login.stderr);
      const token = JSON.parse(login.stdout).accessToken as string;

      const denied = await withSchema([...extra, "-d", '{"name":"go-zero"}', `${app.searchUrl}/search.v1.SearchService/Do`]);
      assert.equal(denied.code, 16 * 8, "unauthenticated");
      assert.match(denied.stderr, /unauthenticated/);

      const found = await withSchema([...extra, "-H", `Authorization: Bearer ${token}`, "-d", '{"name":"go-zero"}', `${app.searchUrl}/search.v1.SearchService/Do`]);
      assert.equal(found.code, 0, found.stderr);
      assert.deepEqual(JSON.parse(found.stdout), { name: "go-zero", count: "100" });

      const ping = await withSchema([...extra, "-d", "{}", `${app.searchUrl}/search.v1.SearchService/Ping`]);
      assert.equal(ping.code, 0, ping.stderr);
    });
  }

  test("@grpc/grpc-js with the schema's descriptor set", async () => {
    const def = loadProtoImage({ longs: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const creds = grpc.credentials.createInsecure();
    const users = new pkg.user.v1.UserService(`127.0.0.1:${app.ports.user}`, creds);
    const search = new pkg.search.v1.SearchService(`127.0.0.1:${app.ports.search}`, creds);
    const call = (client: any, method: string, req: object, md = new grpc.Metadata()) =>
      new Promise<any>((resolve, reject) => client[method](req, md, (err: any, res: any) => (err ? reject(err) : resolve(res))));
    try {
      const res = await call(users, "Login", { username: "alice", password });
      assert.equal(typeof res.access_token, "string");

      await assert.rejects(call(search, "Do", { name: "go-zero" }), (err: any) => err.code === grpc.status.UNAUTHENTICATED);
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${res.access_token}`);
      const found = await call(search, "Do", { name: "go-zero" }, md);
      assert.deepEqual({ ...found }, { name: "go-zero", count: "100" });
      const raw = new grpc.Metadata();
      raw.set("authorization", res.access_token);
      assert.equal((await call(search, "Do", { name: "other" }, raw)).count, "0");
      await call(search, "Ping", {});
      await assert.rejects(call(users, "Login", { username: "alice", password: "nope" }), (err: any) => err.code === grpc.status.UNAUTHENTICATED);
    } finally {
      users.close();
      search.close();
    }
  });
});
