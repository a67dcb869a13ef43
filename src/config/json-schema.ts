import type { JsonSchema } from "./fields.js";
import { type Setting, type YamlMapping, yamlRoot } from "./settings.js";

/** Where the schema is committed, beside the YAML files that name it. */
export const schemaFile = "etc/bookstore.schema.json";

/**
 * The JSON Schema (draft 2020-12) of the YAML configuration, for editors: every key with its
 * meaning, default and bounds. Any value may also be a `${VAR}` reference, expanded when loaded,
 * or empty (null), which keeps the default. Rules across keys are the loader's alone.
 */
export function configJsonSchema(): JsonSchema {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "bookstore configuration",
    description:
      "The bookstore's YAML configuration (go-zero key names). Environment variables override some keys; a string value may use ${VAR} or ${VAR:-fallback}. Generated from src/config/: do not edit.",
    ...mapping(yamlRoot),
  };
}

function mapping(m: YamlMapping): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, entry] of m.entries) properties[key] = "field" in entry ? setting(entry) : { ...(entry.doc ? { description: entry.doc } : {}), ...mapping(entry), type: ["object", "null"] };
  return { type: "object", properties, additionalProperties: false };
}

function setting(s: Setting): JsonSchema {
  const env = s.field.env;
  return env === undefined ? s.field.schema : { ...s.field.schema, description: `${s.field.doc}; environment: ${env}` };
}

/** The schema as committed: two-space JSON and a final newline. */
export function configJsonSchemaText(): string {
  // arrays of plain values on one line
  const text = JSON.stringify(configJsonSchema(), null, 2).replace(/\[\n([^[\]{}]*?)\n\s*\]/g, (_m, items: string) =>
    `[${items.split(",\n").map((item) => item.trim()).join(", ")}]`,
  );
  return text + "\n";
}
