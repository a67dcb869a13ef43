import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger };

/**
 * Creates the structured JSON logger. Fields that could carry credentials are redacted as a
 * second line of defence; the first is never to log them.
 */
export function createLogger(options: {
  name: string;
  level: string;
  destination?: DestinationStream;
}): Logger {
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
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
