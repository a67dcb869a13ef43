import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import type { ClientHttp2Session } from "node:http2";
import { connect } from "node:net";
import type { ServerProcess } from "./harness.js";

// Calls held in flight at a server without guessing at timing, for the shutdown tests: each is
// sent with `Expect: 100-continue` and its body kept back. The server's `100 Continue` proves it
// has the call; the test sends the body when it chooses (say, once the server has logged
// "shutting down"), so the call is provably in flight at that moment.

/** Polls `ok` until it holds, failing after a generous `ms`. */
export async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** How a child ended, however long ago. */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
}

/** Waits for the server's exit, failing (and killing it) after a generous `ms`. */
export async function exitWithin(server: ServerProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      server.child.kill("SIGKILL");
      reject(new Error(`still running ${ms} ms later: ${server.output()}`));
    }, ms);
  });
  try {
    return await Promise.race([exitOf(server.child), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A POST over its own HTTP/1.1 connection that the server has (it sent `100 Continue`), its body held back. */
export interface HeldHttp1Call {
  /** Everything the server sent so far. */
  text(): string;
  /** Sends the body, then `pipelined` (another request on the same connection). */
  sendBody(pipelined?: string): void;
  /** The connection closed. */
  readonly closed: Promise<void>;
}

export async function holdHttp1(port: number, path: string, body: string): Promise<HeldHttp1Call> {
  const socket = connect(port, "127.0.0.1");
  let text = "";
  socket.setEncoding("latin1");
  socket.on("data", (d: string) => (text += d));
  socket.on("error", () => undefined);
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await until("100 Continue", () => text.startsWith("HTTP/1.1 100 Continue\r\n\r\n"));
  return { text: () => text, sendBody: (pipelined = "") => void socket.write(body + pipelined), closed };
}

/** The HTTP/1.1 responses in `text` after the `100 Continue`: status and body of each. */
export function http1Responses(text: string): { status: number; body: string }[] {
  const out: { status: number; body: string }[] = [];
  let rest = text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, "");
  while (rest.length > 0) {
    const m = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n((?:[^\r]+\r\n)*)\r\n/.exec(rest);
    if (!m) break;
    const length = Number(/^content-length: (\d+)$/im.exec(m[2]!)?.[1] ?? 0);
    out.push({ status: Number(m[1]), body: rest.slice(m[0].length, m[0].length + length) });
    rest = rest.slice(m[0].length + length);
  }
  return out;
}

/** A POST on an HTTP/2 session that the server has (it sent `100 Continue`), its body held back. */
export interface HeldHttp2Call {
  /** Sends the body; resolves with the response once the stream closes (status 0: none came). */
  finish(): Promise<{ status: number; body: string }>;
}

export async function holdHttp2(session: ClientHttp2Session, path: string, body: string): Promise<HeldHttp2Call> {
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/json", expect: "100-continue" }, { endStream: false });
  let status = 0;
  let text = "";
  stream.on("response", (headers) => (status = Number(headers[":status"])));
  stream.setEncoding("utf8").on("data", (d: string) => (text += d));
  stream.on("error", () => undefined);
  const ended = new Promise<void>((r) => stream.once("close", () => r()));
  let continued = false;
  stream.once("continue", () => (continued = true));
  await until("100 Continue on the stream", () => continued);
  return {
    async finish() {
      stream.end(body);
      await ended;
      return { status, body: text };
    },
  };
}
