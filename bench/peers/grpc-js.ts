// @grpc/grpc-js serving search.v1.SearchService with the JWT check a speed-minded grpc-js user
// writes: fast-jwt (the verifier @fastify/jwt uses), HS256 only, in a server interceptor.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createVerifier } from "fast-jwt";
import { readProtoImage } from "../../scripts/proto-image.js";

const verify = createVerifier({ key: process.env.ACCESS_SECRET!, algorithms: ["HS256"], requiredClaims: ["exp"] });
// the schema as a descriptor set: proto/ imports buf/validate/validate.proto, which exists only compiled
const def = protoLoader.loadFileDescriptorSetFromBuffer(readProtoImage(), { longs: String, defaults: true });
const pkg = grpc.loadPackageDefinition(def) as any;

const auth: grpc.ServerInterceptor = (method, call) =>
  new grpc.ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMetadata(metadata, mdNext) {
          if (!method.path.endsWith("/Do")) return mdNext(metadata);
          const header = String(metadata.get("authorization")[0] ?? "");
          try {
            verify(header.replace(/^bearer\s+/i, ""));
          } catch {
            call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: "invalid or missing access token" });
            return;
          }
          mdNext(metadata);
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
