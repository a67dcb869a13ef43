import { isatty } from "node:tty";
import { pino, type Logger, type DestinationStream } from "pino";
import pretty from "pino-pretty";

export type { Logger };

/** How log lines are written: JSON, human-readable, or pretty only on a terminal. */
export type LogFormat = "auto" | "json" | "pretty";

/**
 * Creates the structured logger: JSON lines on `fd` (stdout by default), or pino-pretty's
 * human-readable lines when `format` asks for them (`auto`: when `fd` is a terminal). An explicit
 * `destination` always gets JSON. Fields that could carry credentials are redacted as a second
 * line of defence; the first is never to log them.
 */
export function createLogger(options: {
  name: string;
  level: string;
  format?: LogFormat;
  fd?: 1 | 2;
  destination?: DestinationStream;
}): Logger {
  const fd = options.fd ?? 1;
  const format = options.format ?? "auto";
  const human = options.destination === undefined && (format === "pretty" || (format === "auto" && isatty(fd)));
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { name: options.name },
      redact: {
        paths: ["password", "token", "accessToken", "authorization", "secret", "*.password", "*.token", "*.authorization"],
        censor: "[redacted]",
      },
    },
    options.destination ??
      (human ? pretty({ destination: fd, sync: fd === 2, colorize: isatty(fd), ignore: "pid,hostname" }) : pino.destination({ fd, sync: fd === 2 })),
  );
}
