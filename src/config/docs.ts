import { envOverrides, settings } from "./settings.js";

/** The usage text's environment section: every variable the loader reads, wrapped at `width`. */
export function environmentUsage(width = 100): string {
  const head = "environment: ";
  const lines: string[] = [];
  let line = "";
  for (const name of Object.keys(envOverrides)) {
    if (line !== "" && head.length + line.length + 1 + name.length > width) {
      lines.push(line);
      line = "";
    }
    line += (line === "" ? "" : " ") + name;
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? head : " ".repeat(head.length)) + l).join("\n");
}

export const tableBegin = "<!-- settings table: generated from src/config/ by `npm run config:schema`; do not edit -->";
export const tableEnd = "<!-- end of settings table -->";

/** The README's settings table: key, environment variable, default, meaning. */
export function settingsTable(): string {
  const rows = settings.map((s) => {
    const { env, defaultText, doc } = s.field;
    const value = s.field.default;
    const shown = defaultText ?? (value === "" ? "empty" : "`" + (Array.isArray(value) ? JSON.stringify(value) : String(value)) + "`");
    if (doc.includes("|")) throw new Error(`config declaration: the doc of ${s.name} has a |`);
    return row([`\`${s.name}\``, env === undefined ? "" : `\`${env}\``, shown, doc]);
  });
  return [row(["key", "environment", "default", "meaning"]), "|---|---|---|---|", ...rows].join("\n");
}

function row(cells: string[]): string {
  return "|" + cells.map((c) => (c === "" ? " " : ` ${c} `)).join("|") + "|";
}

/** `text` (the README) with the part between the markers replaced by {@link settingsTable}. */
export function withSettingsTable(text: string): string {
  const begin = text.indexOf(tableBegin);
  const end = text.indexOf(tableEnd);
  if (begin < 0 || end < begin) throw new Error("README.md has no settings table markers");
  return text.slice(0, begin) + `${tableBegin}\n${settingsTable()}\n` + text.slice(end);
}
