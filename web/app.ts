// The bookstore in a browser: log in, search, log out, over the Connect protocol or gRPC-Web,
// cross-origin (the services allow this page's origin through Cors.AllowedOrigins). An expired
// access token is renewed by protogate's client interceptor; a refusal shows its reason.
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { authFailureOf, createTokenInterceptor, type TokenStore } from "protogate/client";
import { codeName } from "../src/errors.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";

const params = new URLSearchParams(location.search);
const userUrl = params.get("user") ?? "http://localhost:8888";
const searchUrl = params.get("search") ?? "http://localhost:8889";
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const protocol = $<HTMLSelectElement>("protocol");
protocol.value = params.get("protocol") === "grpcweb" ? "grpcweb" : "connect";

/** The token pair, kept for this tab only. */
const saved = {
  get: (): { accessToken: string; refreshToken: string; username: string } | undefined => JSON.parse(sessionStorage.getItem("tokens") ?? "null") ?? undefined,
  set: (v: { accessToken: string; refreshToken: string; username: string } | undefined) =>
    v === undefined ? sessionStorage.removeItem("tokens") : sessionStorage.setItem("tokens", JSON.stringify(v)),
};

const transport = (baseUrl: string, interceptors = [tokenInterceptor]): Transport =>
  protocol.value === "grpcweb" ? createGrpcWebTransport({ baseUrl, interceptors }) : createConnectTransport({ baseUrl, interceptors });
const users = () => createClient(UserService, transport(userUrl));
const search = () => createClient(SearchService, transport(searchUrl));

const tokens: TokenStore = {
  accessToken: () => saved.get()?.accessToken,
  async refresh() {
    const now = saved.get();
    if (now === undefined) throw new ConnectError("log in first");
    const res = await users().refresh({ refreshToken: now.refreshToken });
    saved.set({ ...now, accessToken: res.accessToken, refreshToken: res.refreshToken });
    show("access token renewed");
    return res.accessToken;
  },
};
const tokenInterceptor = createTokenInterceptor({ tokens });

function show(text: string, error = false) {
  const status = $("status");
  status.textContent = text;
  status.className = error ? "error" : "";
}
function showError(err: unknown) {
  const e = ConnectError.from(err);
  const reason = authFailureOf(e);
  show(`${codeName(e.code)}: ${e.rawMessage}${reason ? ` (${reason})` : ""}`, true);
}
const renderWho = () => ($("who").textContent = saved.get() ? `logged in as ${saved.get()!.username}` : "not logged in");

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const username = $<HTMLInputElement>("username").value;
  try {
    const res = await users().login({ username, password: $<HTMLInputElement>("password").value });
    saved.set({ accessToken: res.accessToken, refreshToken: res.refreshToken, username });
    show(`logged in (${protocol.value})`);
  } catch (err) {
    showError(err);
  }
  renderWho();
});

$("search").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("result").textContent = "";
  try {
    const res = await search().do({ name: $<HTMLInputElement>("name").value });
    $("result").textContent = `${res.name}: ${res.count} in stock`;
    if ($("status").className === "error") show("");
  } catch (err) {
    showError(err);
  }
});

$("logout").addEventListener("click", async () => {
  try {
    await users().logout({});
    show("logged out: the session's tokens are revoked");
  } catch (err) {
    showError(err);
  }
  saved.set(undefined);
  renderWho();
});

renderWho();
