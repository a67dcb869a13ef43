// What a Connect user gets without our bridge: the bookstore's own SearchService routes and
// interceptors (access log, errors, auth) behind connect-node's `connectNodeAdapter`, on
// node:http (HTTP/1.1, PORT) and node:http2 (h2c, H2_PORT), as connect-node's docs set it up.
import http from "node:http";
import http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { loadConfig } from "../../src/config.js";
import { createServiceRoutes } from "../../src/routes.js";
import { createServiceContext } from "../../src/service-context.js";

const config = loadConfig({ file: process.env.CONFIG_FILE, env: process.env });
const ctx = await createServiceContext(config, { signs: false });
const { routes, interceptors } = createServiceRoutes(ctx, "search");
const handler = connectNodeAdapter({ routes, interceptors, jsonOptions: { alwaysEmitImplicit: true, ignoreUnknownFields: false } });
await new Promise<void>((ok) => http.createServer(handler).listen(Number(process.env.PORT), "127.0.0.1", ok));
await new Promise<void>((ok) => http2.createServer(handler).listen(Number(process.env.H2_PORT), "127.0.0.1", ok));
console.log("ready");
