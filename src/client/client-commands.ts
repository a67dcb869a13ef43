import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createTokenInterceptor, type TokenStore } from "protogate/client";
import { codeName } from "../errors.js";
import { DoResponseSchema, SearchService } from "../gen/search/v1/search_pb.js";
import { UserService } from "../gen/user/v1/user_pb.js";

/** The wire protocols the client speaks. */
export type Protocol = "connect" | "grpc" | "grpcweb";

/** Where `login --save` keeps the tokens and `search` finds them: $BOOKSTORE_TOKEN_FILE or ~/.config/bookstore/token. */
export function tokenFile(env: NodeJS.ProcessEnv): string {
  return env.BOOKSTORE_TOKEN_FILE || join(env.HOME || homedir(), ".config", "bookstore", "token");
}

/** How the client commands reach a server: where, over which protocol, trusting which CA. */
export interface Target {
  url: string;
  protocol: Protocol;
  /** PEM certificates to trust for an https:// URL (`--cacert`), besides the system's. */
  ca?: Buffer;
}

/**
 * A transport for the generated clients: Connect (JSON, HTTP/1.1), gRPC (HTTP/2, h2c for
 * http:// URLs) or gRPC-Web (HTTP/1.1).
 */
export function transportFor(target: Target, interceptors: Interceptor[] = []): Transport {
  const baseUrl = target.url;
  const nodeOptions = target.ca === undefined ? undefined : { ca: target.ca };
  switch (target.protocol) {
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors, nodeOptions });
    case "grpc":
      return createGrpcTransport({ baseUrl, interceptors, nodeOptions });
    case "grpcweb":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors, nodeOptions });
  }
}

/** What `login --save` keeps: the token pair, and where and how to refresh it. */
interface SavedTokens {
  accessToken: string;
  refreshToken?: string;
  userUrl?: string;
  protocol?: Protocol;
}

/** The saved tokens; a file of one line (an older `--save`) is an access token alone. */
function readSaved(file: string): SavedTokens | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return undefined; // the server will say unauthenticated
  }
  if (!text.startsWith("{")) return text === "" ? undefined : { accessToken: text };
  try {
    const v = JSON.parse(text) as Partial<SavedTokens>;
    return typeof v.accessToken === "string" ? (v as SavedTokens) : undefined;
  } catch {
    return undefined;
  }
}

function writeSaved(file: string, saved: SavedTokens): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(saved) + "\n", { mode: 0o600 });
}

/**
 * The token file as protogate's client {@link TokenStore}: an expired access token is
 * renewed through UserService.Refresh where the login was made, and the new pair saved.
 */
export function savedTokenStore(file: string, ca?: Buffer): TokenStore {
  return {
    accessToken: () => readSaved(file)?.accessToken,
    async refresh() {
      const saved = readSaved(file);
      if (saved?.refreshToken === undefined || saved.userUrl === undefined) {
        throw new ConnectError("the saved access token expired and no refresh token was saved: log in again", Code.Unauthenticated);
      }
      const users = createClient(UserService, transportFor({ url: saved.userUrl, protocol: saved.protocol ?? "connect", ca }));
      const res = await users.refresh({ refreshToken: saved.refreshToken });
      writeSaved(file, { ...saved, accessToken: res.accessToken, refreshToken: res.refreshToken });
      return res.accessToken;
    },
  };
}

/** `code: message`, as the CLI prints a failed call. */
export function describeCallError(err: unknown): string {
  const e = ConnectError.from(err);
  return `${codeName(e.code)}: ${e.rawMessage}`;
}

/** Logs in; returns the access token (and saves the token pair, with where to refresh it, when `save`). */
export async function loginCommand(options: Target & { username: string; password: string; save?: string }): Promise<string> {
  const users = createClient(UserService, transportFor(options));
  const res = await users.login({ username: options.username, password: options.password });
  if (options.save !== undefined) {
    writeSaved(options.save, { accessToken: res.accessToken, refreshToken: res.refreshToken, userUrl: options.url, protocol: options.protocol });
  }
  return res.accessToken;
}

/**
 * Looks a book up with `token`, or else with the saved tokens, refreshed once when the access
 * token has expired (protogate's client interceptor). Returns the response as JSON text.
 */
export async function searchCommand(options: Target & { name: string; token?: string; tokenFile: string }): Promise<string> {
  const interceptors = options.token === undefined ? [createTokenInterceptor({ tokens: savedTokenStore(options.tokenFile, options.ca) })] : [];
  const search = createClient(SearchService, transportFor(options, interceptors));
  const res = await search.do({ name: options.name }, { headers: options.token ? { authorization: `Bearer ${options.token}` } : {} });
  return toJsonString(DoResponseSchema, res, { alwaysEmitImplicit: true });
}

/** Pings the search service. */
export async function pingCommand(options: Target): Promise<void> {
  await createClient(SearchService, transportFor(options)).ping({});
}
