import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import type { Logger } from "./logger.js";
import { defaultServerLimits, type ServerLimits } from "./server-limits.js";

/** A request handler that serves both the HTTP/1.1 and the HTTP/2 compatibility API. */
export type NodeHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

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
 * preface and to HTTP/1.1 otherwise, so Connect, gRPC-Web and gRPC share one cleartext port.
 * The HTTP/1.1 server is the listener, so its own timeouts and connection tracking apply.
 */
export function createPortServer(
  handler: NodeHandler,
  options: { logger: Logger; limits?: Partial<ServerLimits>; tls?: { cert: Buffer; key: Buffer } },
): PortServer {
  const limits = { ...defaultServerLimits, ...options.limits };
  if (options.tls) return createTlsPortServer(handler, limits, options.tls);
  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      keepAliveTimeout: 5_000,
      // how often the two timeouts above are checked (Node's default is every 30 s)
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    handler as http.RequestListener,
  );
  h1.timeout = limits.idleTimeoutMs;
  h1.maxConnections = limits.maxConnections;
  const h2 = http2.createServer(
    {
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
      maxSessionMemory: 10,
    },
    handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  h2.setTimeout(limits.idleTimeoutMs);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const sniffing = new Set<Socket>();

  const acceptHttp1 = h1.listeners("connection")[0] as (socket: Socket) => void;
  h1.removeAllListeners("connection");
  h1.on("connection", (socket: Socket) => {
    sniffing.add(socket);
    sniffProtocol(socket, limits.headersTimeoutMs, (isHttp2) => {
      sniffing.delete(socket);
      if (isHttp2) {
        h2.emit("connection", socket);
      } else {
        acceptHttp1.call(h1, socket);
        socket.resume();
      }
    });
    socket.once("close", () => sniffing.delete(socket));
  });
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

/**
 * The TLS variant: one port where ALPN chooses HTTP/2 (`h2`) or HTTP/1.1 per connection, so
 * Connect, gRPC-Web and gRPC all work over TLS too.
 */
function createTlsPortServer(handler: NodeHandler, limits: ServerLimits, tls: { cert: Buffer; key: Buffer }): PortServer {
  const server = http2.createSecureServer(
    {
      ...tls,
      allowHTTP1: true,
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
      maxSessionMemory: 10,
    },
    handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  server.setTimeout(limits.idleTimeoutMs);
  server.maxConnections = limits.maxConnections;
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<Socket>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  let closing: Promise<void> | undefined;
  return {
    listen: (port, host) => listenOn(server, port, host),
    close(graceMs = 10_000) {
      closing ??= (async () => {
        if (!server.listening) return;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sessions) s.close();
        const timer = setTimeout(() => {
          for (const s of sessions) s.destroy();
          for (const s of sockets) s.destroy();
        }, graceMs);
        // HTTP/1.1-over-TLS connections have no graceful close here: they end with the grace period
        await closed;
        clearTimeout(timer);
      })();
      return closing;
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
