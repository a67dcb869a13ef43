import { connect, createServer, type Socket } from "node:net";

/**
 * A TCP forwarder on a loopback port that a test can break: `cut` closes every connection and
 * refuses new ones, `stall` keeps connections open but forwards nothing (a hung backend),
 * `restore` forwards again.
 */
export interface TcpProxy {
  readonly port: number;
  cut(): void;
  stall(): void;
  restore(): void;
  /**
   * While set, a connection is dropped as soon as its client sends `text` (case-insensitive):
   * a link that dies at a chosen step of a protocol.
   */
  dropOnSend(text: string | undefined): void;
  /** How many connections {@link dropOnSend} has dropped. */
  readonly dropped: number;
  close(): Promise<void>;
}

// Sockets are closed with destroy(), not resetAndDestroy(): on Node 20 the latter can leave the
// process spinning in its exit clean-up.
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: "pass" | "reset" | "stall" = "pass";
  let trap: string | undefined;
  let dropped = 0;
  const pairs = new Set<[Socket, Socket]>();
  const held = new Set<Socket>();
  const server = createServer((client) => {
    client.on("error", () => client.destroy());
    if (mode === "reset") return void client.destroy();
    if (mode === "stall") {
      held.add(client);
      client.once("close", () => held.delete(client));
      return;
    }
    const upstream = connect(target);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
    client.on("data", (chunk: Buffer) => {
      if (trap === undefined || !chunk.toString("latin1").toLowerCase().includes(trap)) return;
      dropped++;
      end();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const dropAll = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
    for (const s of held) s.destroy();
    held.clear();
  };
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      mode = "reset";
      dropAll();
    },
    stall() {
      mode = "stall";
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    restore() {
      dropAll();
      mode = "pass";
    },
    dropOnSend(text) {
      trap = text?.toLowerCase();
    },
    get dropped() {
      return dropped;
    },
    async close() {
      dropAll();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Puts a proxy in front of the service a URL names (`redis://…`, `mysql://…`) and returns it
 * with the same URL pointed at the proxy, credentials and path kept.
 */
export async function proxyFor(url: string, defaultPort: number): Promise<{ proxy: TcpProxy; url: string }> {
  const u = new URL(url);
  const proxy = await startTcpProxy({ host: u.hostname, port: u.port === "" ? defaultPort : Number(u.port) });
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  return { proxy, url: u.toString() };
}
