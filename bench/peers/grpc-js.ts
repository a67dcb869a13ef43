// @grpc/grpc-js serving search.v1.SearchService with the same JWT check (jose, HS256, a
// CryptoKey imported once) in a server interceptor.
import { webcrypto } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { jwtVerify } from "jose";

const key = await webcrypto.subtle.importKey("raw", Buffer.from(process.env.ACCESS_SECRET!), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
const def = protoLoader.loadSync(["search/v1/search.proto"], { includeDirs: ["proto"], longs: String, defaults: true });
const pkg = grpc.loadPackageDefinition(def) as any;

const auth: grpc.ServerInterceptor = (method, call) =>
  new grpc.ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMetadata(metadata, mdNext) {
          if (!method.path.endsWith("/Do")) return mdNext(metadata);
          const header = String(metadata.get("authorization")[0] ?? "");
          const token = header.replace(/^bearer\s+/i, "");
          jwtVerify(token, key, { algorithms: ["HS256"], requiredClaims: ["exp"] }).then(
            () => mdNext(metadata),
            () => call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: "invalid or missing access token" }),
          );
        },
      });
    },
  });

const server = new grpc.Server({ interceptors: [auth] });
server.addService(pkg.search.v1.SearchService.service, {
  Do: (call: any, cb: any) => cb(null, { name: call.request.name, count: "100" }),
  Ping: (_call: any, cb: any) => cb(null, {}),
});
server.bindAsync(`127.0.0.1:${process.env.PORT}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  console.log("ready");
});
