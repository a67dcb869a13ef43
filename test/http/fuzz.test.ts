import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { tempDir } from "../harness.js";
import { brokenPromise, exactlyFramed, failureReport, fuzzRequest, type FuzzRequest } from "./fuzz-requests.js";
import { startFuzzServers, type FuzzServers } from "./fuzz-servers.js";

// a fixed seed and a bounded number of runs in `npm test`; `npm run fuzz -- --runs N` for long runs
const seed = 20261201;
const numRuns = 250;

describe("generated hostile requests over HTTP/1.1, h2c and TLS, to both adapters", () => {
  const dir = tempDir();
  let servers: FuzzServers;
  before(async () => {
    servers = await startFuzzServers(dir.path);
  });
  after(async () => {
    await servers.close();
    dir.remove();
  });

  test("every answer is a 4xx or a gRPC status other than UNKNOWN/INTERNAL, the server keeps serving, and the lean path answers as Connect's own", async () => {
    const seen = new Map<string, number>();
    const result = await fc.check(
      fc.asyncProperty(fuzzRequest(["h1", "h2", "h1-tls", "h2-tls"]), async (req: FuzzRequest) => {
        const lean = await servers.send(req, "lean");
        const stock = await servers.send(req, "stock");
        seen.set(`${req.transport} ${lean.kind} ${lean.status}`, (seen.get(`${req.transport} ${lean.kind} ${lean.status}`) ?? 0) + 1);
        assert.equal(brokenPromise(req, lean), undefined, `lean path: ${JSON.stringify(lean)}`);
        assert.equal(brokenPromise(req, stock), undefined, `Connect's path: ${JSON.stringify(stock)}`);
        if (exactlyFramed(req)) assert.deepEqual(lean, stock, "the two paths answer alike");
        assert.ok(await servers.pings(req, "lean"), "the lean server still answers Ping");
        assert.ok(await servers.pings(req, "stock"), "the stock server still answers Ping");
      }),
      { seed, numRuns, endOnFailure: true },
    );
    if (result.failed) assert.fail(failureReport(result));
    // the generator reaches every transport and both answered and refused requests
    const transports = new Set([...seen.keys()].map((k) => k.split(" ")[0]));
    assert.deepEqual([...transports].sort(), ["h1", "h1-tls", "h2", "h2-tls"]);
    assert.ok([...seen.keys()].some((k) => k.endsWith(" 200")) && [...seen.keys()].some((k) => / 4\d\d$/.test(k)), JSON.stringify([...seen]));
  });
});
