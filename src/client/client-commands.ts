import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { codeName } from "../errors.js";
import { DoResponseSchema, SearchService } from "../gen/search/v1/search_pb.js";
import { UserService } from "../gen/user/v1/user_pb.js";

/** The wire protocols the client speaks. */
export type Protocol = "connect" | "grpc" | "grpcweb";

/** Where `login --save` keeps the token and `search` finds it: $BOOKSTORE_TOKEN_FILE or ~/.config/bookstore/token. */
export function tokenFile(env: NodeJS.ProcessEnv): string {
  return env.BOOKSTORE_TOKEN_FILE || join(env.HOME || homedir(), ".config", "bookstore", "token");
}

/**
 * A transport for the generated clients: Connect (JSON, HTTP/1.1), gRPC (HTTP/2, h2c for
 * http:// URLs) or gRPC-Web (HTTP/1.1).
 */
export function transportFor(baseUrl: string, protocol: Protocol): Transport {
  switch (protocol) {
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "1.1" });
    case "grpc":
      return createGrpcTransport({ baseUrl });
    case "grpcweb":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
  }
}

/** `code: message`, as the CLI prints a failed call. */
export function describeCallError(err: unknown): string {
  const e = ConnectError.from(err);
  return `${codeName(e.code)}: ${e.rawMessage}`;
}

/** Logs in; returns the access token (and saves it when `save`). */
export async function loginCommand(options: { url: string; protocol: Protocol; username: string; password: string; save?: string }): Promise<string> {
  const users = createClient(UserService, transportFor(options.url, options.protocol));
  const res = await users.login({ username: options.username, password: options.password });
  if (options.save !== undefined) {
    mkdirSync(dirname(options.save), { recursive: true, mode: 0o700 });
    writeFileSync(options.save, res.accessToken + "\n", { mode: 0o600 });
  }
  return res.accessToken;
}

/** Looks a book up; `token` or else the saved one. Returns the response as JSON text. */
export async function searchCommand(options: { url: string; protocol: Protocol; name: string; token?: string; tokenFile: string }): Promise<string> {
  let token = options.token;
  if (token === undefined) {
    try {
      token = readFileSync(options.tokenFile, "utf8").trim();
    } catch {
      token = undefined; // the server will say unauthenticated
    }
  }
  const search = createClient(SearchService, transportFor(options.url, options.protocol));
  const res = await search.do({ name: options.name }, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return toJsonString(DoResponseSchema, res, { alwaysEmitImplicit: true });
}

/** Pings the search service. */
export async function pingCommand(options: { url: string; protocol: Protocol }): Promise<void> {
  await createClient(SearchService, transportFor(options.url, options.protocol)).ping({});
}
