import { Cluster } from "ioredis";
import type { RedisClient } from "../cache/redis-client.js";
import { epochSeconds, type Clock } from "../clock.js";
import { createFailOpen } from "../lib/fail-open.js";
import type { Logger } from "../logger.js";
import { parseAuthEvent, type AuthEvent } from "./auth-event.js";
import type { AuthEventLog } from "./auth-event-log.js";

/**
 * Revocations and unlocks, shared by every instance and the CLI. The database log is the
 * record; each instance reads what is new in it every `intervalMs` (and at once when Redis
 * announces a write), so every event reaches every instance within one interval even when a
 * message is lost or Redis is down, and no call ever waits on the network to check a token.
 */
export interface AuthEvents {
  /**
   * Stores events (throws, storing none, when the database cannot be written), hands them to
   * this process's listeners, and announces them to the other instances.
   */
  publish(...events: AuthEvent[]): Promise<void>;
  /** Adds a consumer of every event, this process's and others', each at least once. */
  onEvent(listener: (event: AuthEvent) => void): void;
  /** Reads the log from where it stopped; resolves to whether that worked. */
  sync(): Promise<boolean>;
  /** Whether the log has been read at least once since start (until then, nothing is known). */
  readonly synced: boolean;
  /** Deletes the expired events from the log; returns how many. */
  prune(): Promise<number>;
  /** First read, then the interval and the Redis subscription; resolves to whether the read worked. */
  start(): Promise<boolean>;
  close(): Promise<void>;
}

/** Options of {@link createAuthEvents}. */
export interface AuthEventsOptions {
  log: AuthEventLog;
  clock: Clock;
  logger: Logger;
  /** How often the log is read, in milliseconds. */
  intervalMs: number;
  /** With Redis, writes are announced on a channel and read at once by every subscriber. */
  redis?: RedisClient;
  /** Prefix of the channel name (the Redis key prefix). */
  channelPrefix?: string;
}

const pageSize = 5000;
/** An id skipped in the log may be a write still committing (MySQL): looked for again this long. */
const gapMs = 10_000;

/** Creates the feed; nothing is read until {@link AuthEvents.start}. */
export function createAuthEvents(options: AuthEventsOptions): AuthEvents {
  const { log, clock, logger, intervalMs, redis } = options;
  const channel = `${options.channelPrefix ?? ""}auth-events`;
  const listeners: ((event: AuthEvent) => void)[] = [];
  const gaps = new Map<number, number>();
  let lastId = 0;
  let synced = false;
  // no back-off: the interval paces the reads
  const database = createFailOpen({
    onDown: (err) => logger.warn({ code: (err as { code?: unknown })?.code, synced }, "cannot read auth events; serving from what is known"),
    onUp: () => logger.info("auth events readable again"),
  });
  let reading: Promise<boolean> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let subscriber: RedisClient | undefined;

  const deliver = (event: AuthEvent) => {
    for (const l of listeners) l(event);
  };
  const readOnce = async () => {
    // re-read from the oldest id still missing: events are idempotent, so overlap is harmless
    let from = lastId;
    for (const id of gaps.keys()) from = Math.min(from, id - 1);
    for (;;) {
      // expired rows are read too (until pruned), so that only ids never seen count as gaps
      const page = await log.after(from, pageSize);
      const now = epochSeconds(clock);
      for (const e of page) {
        gaps.delete(e.id);
        if (e.id > lastId) {
          for (let missing = lastId + 1; missing < e.id && e.id - lastId < 1000; missing++) gaps.set(missing, clock.now());
          lastId = e.id;
        }
        if (e.expiresAt > now) deliver(e);
      }
      if (page.length < pageSize) break;
      from = page[page.length - 1]!.id;
    }
    for (const [id, since] of gaps) if (clock.now() - since > gapMs) gaps.delete(id);
  };
  const sync = () => {
    reading ??= database.attempt(readOnce).then(
      () => {
        synced = true;
        return true;
      },
      () => false,
    ).finally(() => {
      reading = undefined;
    });
    return reading;
  };
  const subscribe = async (client: RedisClient) => {
    // One Redis: ioredis's own resubscription after a reconnect leaves its SUBSCRIBE unhandled,
    // so a link dropped at that moment (or a close) would reject it with no one listening and end
    // the process; it is off, and the channel is subscribed here on every ready instead. A Cluster
    // moves its subscriber between nodes itself, handling what fails.
    const cluster = client instanceof Cluster;
    const sub = cluster ? client.duplicate() : client.duplicate({ autoResubscribe: false });
    subscriber = sub;
    sub.on("error", () => {
      // the cache reports Redis outages; the log interval covers for lost messages
    });
    sub.on("message", (ch: string, text: string) => {
      if (ch !== channel) return;
      const event = parseAuthEvent(text);
      if (event !== undefined) deliver(event);
    });
    // messages are lost while disconnected: read the log after every (re)connect
    let subscribed = false;
    sub.on("ready", () => {
      void sync();
      if (cluster && subscribed) return;
      sub.subscribe(channel).then(() => (subscribed = true), () => undefined);
    });
    await sub.connect().catch(() => undefined);
  };

  return {
    async publish(...events) {
      await log.append(events);
      for (const e of events) deliver(e);
      if (redis !== undefined && redis.status === "ready") {
        await Promise.all(events.map((e) => redis.publish(channel, JSON.stringify(e)))).catch(() => undefined);
      }
    },
    onEvent(listener) {
      listeners.push(listener);
    },
    sync,
    prune: () => log.prune(epochSeconds(clock)),
    get synced() {
      return synced;
    },
    async start() {
      const ok = await sync();
      timer = setInterval(() => void sync(), intervalMs).unref();
      if (redis !== undefined) await subscribe(redis);
      return ok;
    },
    async close() {
      clearInterval(timer);
      subscriber?.disconnect();
      await reading;
    },
  };
}
