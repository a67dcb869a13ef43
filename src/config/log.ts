import { enumOf, section, widen } from "./fields.js";

export const log = section({
  yaml: "Log",
  fields: {
    // typed `string`, as the logger takes it
    level: widen<string>(
      enumOf({
        yaml: "Level",
        values: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
        default: "info",
        doc: "`fatal` … `trace`, `silent`",
      }),
    ),
    format: enumOf({
      yaml: "Format",
      env: "LOG_FORMAT",
      values: ["auto", "json", "pretty"],
      default: "auto",
      doc: "`json` (one object per line); `pretty` (human-readable, pino-pretty); `auto`: pretty on a terminal, else JSON",
    }),
  },
});
