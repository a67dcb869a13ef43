/** Limits applied to every connection of a port; each bounds what one client can hold. */
export interface ServerLimits {
  /** Time to receive a request's headers (HTTP/1.1), and the first bytes of any connection. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request (HTTP/1.1). */
  readonly requestTimeoutMs: number;
  /** Largest request head (HTTP/1.1) or header list (HTTP/2), in bytes. */
  readonly maxHeaderBytes: number;
  /** Concurrent streams per HTTP/2 connection. */
  readonly maxConcurrentStreams: number;
  /** Idle time before a connection is closed. */
  readonly idleTimeoutMs: number;
  /** Open connections per port; more are closed as they arrive. */
  readonly maxConnections: number;
  /** Open connections from one peer address per port (trusted proxies exempt); more are closed as they arrive. */
  readonly maxConnectionsPerAddress: number;
}

export const defaultServerLimits: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxHeaderBytes: 16 * 1024,
  maxConcurrentStreams: 128,
  idleTimeoutMs: 60_000,
  maxConnections: 4096,
  maxConnectionsPerAddress: 256,
};
