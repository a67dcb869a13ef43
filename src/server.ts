import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { NodeHandler } from "./http/node-handler.js";
import { guardRequests } from "./http/request-guard.js";
import type { Logger } from "./logger.js";
import { defaultServerLimits, type ServerLimits } from "./server-limits.js";

/** One listening port that speaks HTTP/1.1 and cleartext HTTP/2 (h2c prior knowledge). */
export interface PortServer {
  /** Starts listening; resolves to the bound port (useful with port 0). */
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops accepting, lets in-flight calls finish for up to `graceMs`, then ends every
   * keep-alive connection and HTTP/2 session. Safe to call twice.
   */
  close(graceMs?: number): Promise<void>;
}

const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Creates a server that sends each connection to HTTP/2 when it opens with the HTTP/2
 * preface (or, with `tls`, when ALPN chose `h2`) and to HTTP/1.1 otherwise, so Connect,
 * gRPC-Web and gRPC share one port. The HTTP/1.1 server (`https` with TLS) is the listener, so
 * its own timeouts and connection tracking apply to every HTTP/1.1 connection, encrypted or not;
 * HTTP/2 sessions get the same bounds from here: a session must open its first stream within
 * `headersTimeoutMs`, and the request guard checks header lists. Connections past
 * `maxConnectionsPerAddress` from one peer address (the socket's, never a forwarded one) are
 * closed as they arrive, except from `exemptAddress` (trusted proxies carry many clients).
 */
export function createPortServer(
  handler: NodeHandler,
  options: { logger: Logger; limits?: Partial<ServerLimits>; tls?: { cert: Buffer; key: Buffer }; exemptAddress?: (address: string) => boolean },
): PortServer {
  const limits = { ...defaultServerLimits, ...options.limits };
  const guarded = guardRequests(handler, { logger: options.logger, maxHeaderBytes: limits.maxHeaderBytes });
  const h1Options = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    keepAliveTimeout: 5_000,
    // how often the two timeouts above are checked (Node's default is every 30 s)
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
  const h1 = options.tls
    ? https.createServer({ ...h1Options, ...options.tls, ALPNProtocols: ["h2", "http/1.1"], handshakeTimeout: limits.headersTimeoutMs }, guarded as http.RequestListener)
    : http.createServer(h1Options, guarded as http.RequestListener);
  h1.timeout = limits.idleTimeoutMs;
  h1.maxConnections = limits.maxConnections;
  const h2 = http2.createServer(
    {
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
      maxSessionMemory: 10,
    },
    guarded as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  h2.setTimeout(limits.idleTimeoutMs);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    // a session that never opens a stream is held to the same bound as a silent HTTP/1.1 connection
    const silent = setTimeout(() => session.destroy(), limits.headersTimeoutMs).unref();
    session.once("stream", () => clearTimeout(silent));
    // a peer that ends its side of the connection has gone (HTTP/2 has no half-closed connection; grpc-go
    // closes its transport on EOF too): Node's HTTP/2 server would hold the socket until the idle timeout
    session.socket.once("end", () => session.destroy());
    session.once("close", () => {
      clearTimeout(silent);
      sessions.delete(session);
    });
  });
  const perAddress = countPerAddress(limits.maxConnectionsPerAddress, options.exemptAddress);
  const sniffing = new Set<Socket>();

  // the raw TCP connection: counted per address, then (cleartext) sniffed or (TLS) handed to TLS
  const accept = h1.listeners("connection")[0] as (socket: Socket) => void;
  h1.removeAllListeners("connection");
  h1.on("connection", (socket: Socket) => {
    if (!perAddress.admit(socket)) return void socket.destroy();
    if (options.tls) return void accept.call(h1, socket);
    sniffing.add(socket);
    sniffProtocol(socket, limits.headersTimeoutMs, (isHttp2) => {
      sniffing.delete(socket);
      if (isHttp2) {
        h2.emit("connection", socket);
      } else {
        accept.call(h1, socket);
        socket.resume();
      }
    });
    socket.once("close", () => sniffing.delete(socket));
  });
  if (options.tls) {
    // after the handshake, ALPN has chosen: h2 to the HTTP/2 server, anything else stays HTTP/1.1
    const acceptSecure = h1.listeners("secureConnection")[0] as (socket: TLSSocket) => void;
    h1.removeAllListeners("secureConnection");
    h1.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
      else acceptSecure.call(h1, socket);
    });
    // a failed handshake is not an HTTP request: no 400 is written into it
    h1.removeAllListeners("tlsClientError");
    h1.on("tlsClientError", (_err, socket) => socket.destroy());
  }
  h1.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
    socket.end(`HTTP/1.1 ${clientErrorStatus(err.code)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  let closing: Promise<void> | undefined;
  return {
    listen: (port, host) => listenOn(h1, port, host),
    close(graceMs = 10_000) {
      closing ??= (async () => {
        if (!h1.listening) return;
        const closed = new Promise<void>((resolve) => h1.close(() => resolve()));
        for (const s of sniffing) s.destroy();
        for (const s of sessions) s.close();
        const deadline = Date.now() + graceMs;
        let done = false;
        void closed.then(() => (done = true));
        while (!done && Date.now() < deadline) {
          h1.closeIdleConnections();
          await Promise.race([closed, delay(50)]);
        }
        h1.closeAllConnections();
        for (const s of sessions) s.destroy();
        await closed;
        options.logger.debug("port closed");
      })();
      return closing;
    },
  };
}

/** Counts open connections per peer address; past `max`, a new one is not admitted. */
function countPerAddress(max: number, exempt: ((address: string) => boolean) | undefined): { admit(socket: Socket): boolean } {
  const open = new Map<string, number>();
  return {
    admit(socket) {
      const address = socket.remoteAddress;
      if (address === undefined) return false;
      if (exempt?.(address)) return true;
      const n = open.get(address) ?? 0;
      if (n >= max) return false;
      open.set(address, n + 1);
      socket.once("close", () => {
        const left = (open.get(address) ?? 1) - 1;
        if (left === 0) open.delete(address);
        else open.set(address, left);
      });
      return true;
    },
  };
}

/**
 * Reads just enough of a new connection to tell the HTTP/2 preface from an HTTP/1.1 request
 * line, puts the bytes back, and calls `route` once. A connection that sends nothing
 * decisive within `timeoutMs` is dropped.
 */
function sniffProtocol(socket: Socket, timeoutMs: number, route: (isHttp2: boolean) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const stop = () => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("error", onError);
    socket.off("close", stop);
  };
  const onError = () => {
    stop();
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, h2Preface.length);
    const matches = seen.subarray(0, n).equals(h2Preface.subarray(0, n));
    if (matches && seen.length < h2Preface.length) return;
    stop();
    socket.pause();
    socket.unshift(seen);
    route(matches);
  };
  socket.on("data", onData);
  socket.on("error", onError);
  socket.on("close", stop);
}

/** Starts `server` listening; resolves to the bound port, rejects on a listen error. */
function listenOn(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function clientErrorStatus(code: string | undefined): string {
  if (code === "HPE_HEADER_OVERFLOW") return "431 Request Header Fields Too Large";
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return "408 Request Timeout";
  return "400 Bad Request";
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
