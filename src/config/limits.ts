import { defaultServerLimits, type ServerLimits } from "../server-limits.js";
import { type Field, int, millis, section } from "./fields.js";

const memory = { min: 1024, max: 64 * 1024 * 1024 * 1024 } as const;
const connections = { min: 1, max: 1_000_000 } as const;

/** What every port enforces (src/server-limits.ts owns the defaults). */
const serverLimits = {
  headersTimeoutMs: int({
    yaml: "HeadersTimeout",
    default: defaultServerLimits.headersTimeoutMs,
    ...millis,
    doc: "ms to send the request head; a new connection's first bytes, TLS handshake, or first HTTP/2 stream",
  }),
  requestTimeoutMs: int({
    yaml: "RequestTimeout",
    default: defaultServerLimits.requestTimeoutMs,
    ...millis,
    doc: "ms to send a whole request, on every protocol (else 408, gRPC `deadline_exceeded`); client- and bidi-streaming calls excepted",
  }),
  maxHeaderBytes: int({
    yaml: "MaxHeaderBytes",
    default: defaultServerLimits.maxHeaderBytes,
    min: 4096,
    max: 1024 * 1024,
    doc: "request head as sent (HTTP/1.1: else 431) or header list (HTTP/2: 431 while the client has not acknowledged the SETTINGS announcing it; after, nghttp2 resets the stream with `ENHANCE_YOUR_CALM`, which grpc-js reads as `resource_exhausted`)",
  }),
  maxConcurrentStreams: int({
    yaml: "MaxConcurrentStreams",
    default: defaultServerLimits.maxConcurrentStreams,
    min: 1,
    max: 10_000,
    doc: "streams per HTTP/2 connection",
  }),
  idleTimeoutMs: int({ yaml: "IdleTimeout", default: defaultServerLimits.idleTimeoutMs, ...millis, doc: "ms a connection may sit idle" }),
  maxConnections: int({
    yaml: "MaxConnections",
    default: defaultServerLimits.maxConnections,
    ...connections,
    doc: "connections per port; more are closed as they arrive",
  }),
  maxConnectionsPerAddress: int({
    yaml: "MaxConnectionsPerAddress",
    default: defaultServerLimits.maxConnectionsPerAddress,
    ...connections,
    doc: "connections per port from one peer address (the socket's; `TrustedProxies` exempt); more are closed as they arrive",
  }),
} satisfies { [K in keyof ServerLimits]: Field<ServerLimits[K]> };

export const limits = section({
  yaml: "Limits",
  doc: "what one client can hold on a port",
  fields: {
    readMaxBytes: int({
      yaml: "ReadMaxBytes",
      default: 64 * 1024,
      min: 1024,
      max: 64 * 1024 * 1024,
      doc: "largest request message; larger ones are `resource_exhausted`",
    }),
    maxPendingBodyBytes: int({
      yaml: "MaxPendingBodyBytes",
      default: 64 * 1024 * 1024,
      ...memory,
      doc: "bytes of request bodies held while they arrive, per port; past it `resource_exhausted` (429)",
    }),
    maxPendingBodyBytesPerConnection: int({
      yaml: "MaxPendingBodyBytesPerConnection",
      default: 1024 * 1024,
      ...memory,
      doc: "the same per connection (must exceed `ReadMaxBytes`)",
    }),
    ...serverLimits,
  },
  // a largest message must fit the body bounds, or it could never be received
  check: (l, name) => {
    // a gRPC message arrives in a 5-byte envelope
    if (l.maxPendingBodyBytesPerConnection < l.readMaxBytes + 5) {
      return `${name("maxPendingBodyBytesPerConnection")} must be larger than ${name("readMaxBytes")}`;
    }
    if (l.maxPendingBodyBytes < l.maxPendingBodyBytesPerConnection) {
      return `${name("maxPendingBodyBytes")} must be at least ${name("maxPendingBodyBytesPerConnection")}`;
    }
    return undefined;
  },
});
