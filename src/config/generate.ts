import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { withSettingsTable } from "./docs.js";
import { configJsonSchemaText, schemaFile } from "./json-schema.js";

/**
 * Writes what is derived from the declarations into the files people and editors read:
 * `etc/bookstore.schema.json` and the README's settings table. Run from the repository root:
 * `npm run config:schema` (`node --import tsx src/config/generate.ts`).
 * test/config-schema.test.ts fails while either is stale.
 */
export function writeGenerated(root = "."): string[] {
  const written: string[] = [];
  const write = (file: string, text: string) => {
    const path = `${root}/${file}`;
    let old: string | undefined;
    try {
      old = readFileSync(path, "utf8");
    } catch {
      old = undefined;
    }
    if (old === text) return;
    writeFileSync(path, text);
    written.push(file);
  };
  write(schemaFile, configJsonSchemaText());
  write("README.md", withSettingsTable(readFileSync(`${root}/README.md`, "utf8")));
  return written;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const written = writeGenerated();
  process.stdout.write(written.length === 0 ? "up to date\n" : `wrote ${written.join(", ")}\n`);
}
