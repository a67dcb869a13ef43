import { declaration } from "./declaration.js";
import type { Field, FieldKind, Section } from "./fields.js";

/** One field of the declaration, placed: where it sits in the config and in the YAML. */
export interface Setting {
  /** The camelCase path in the config: `["auth", "accessExpire"]`. */
  readonly path: readonly string[];
  /** The YAML path as people write it: `Auth.AccessExpire`. */
  readonly name: string;
  readonly field: Field<unknown>;
}

/** A YAML mapping: its keys, each a setting or a nested mapping. */
export interface YamlMapping {
  readonly doc: string | undefined;
  readonly entries: ReadonlyMap<string, Setting | YamlMapping>;
}

/** A section's rule across fields, with the YAML names of its fields. */
export interface SectionCheck {
  readonly key: string;
  readonly section: Section;
  readonly name: (field: string) => string;
}

export const settings: readonly Setting[] = [];
export const sectionChecks: readonly SectionCheck[] = [];
export const yamlRoot: YamlMapping = { doc: undefined, entries: new Map() };

function add(mapping: YamlMapping, setting: Setting): void {
  const entries = mapping.entries as Map<string, Setting | YamlMapping>;
  const yamlKey = setting.field.yaml;
  if (entries.has(yamlKey)) throw new Error(`config declaration: ${setting.name} is declared twice`);
  entries.set(yamlKey, setting);
  (settings as Setting[]).push(setting);
}

for (const [key, entry] of Object.entries(declaration) as [string, Field<unknown> | Section][]) {
  if (entry.type === "field") {
    add(yamlRoot, { path: [key], name: entry.yaml, field: entry });
    continue;
  }
  let mapping = yamlRoot;
  if (entry.yaml !== undefined) {
    if (yamlRoot.entries.has(entry.yaml)) throw new Error(`config declaration: ${entry.yaml} is declared twice`);
    mapping = { doc: entry.doc, entries: new Map() };
    (yamlRoot.entries as Map<string, YamlMapping>).set(entry.yaml, mapping);
  }
  const prefix = entry.yaml === undefined ? "" : `${entry.yaml}.`;
  for (const [fieldKey, field] of Object.entries(entry.fields)) add(mapping, { path: [key, fieldKey], name: prefix + field.yaml, field });
  if (entry.check) {
    const fields = entry.fields;
    (sectionChecks as SectionCheck[]).push({ key, section: entry, name: (f) => prefix + fields[f]!.yaml });
  }
}

/**
 * How a message names a setting: its YAML path, and its variable when it has one
 * (`settingName("user", "port")` is `User.Port (USER_PORT)`).
 */
export function settingName(...path: string[]): string {
  const setting = settings.find((s) => s.path.join(".") === path.join("."));
  if (setting === undefined) throw new Error(`config declaration: no setting ${path.join(".")}`);
  return setting.field.env === undefined ? setting.name : `${setting.name} (${setting.field.env})`;
}

/** Environment variables that override the file, and the key each one sets. */
export const envOverrides: Readonly<Record<string, { key: string; yamlKey: string; kind: FieldKind }>> = Object.fromEntries(
  settings.flatMap((s) => (s.field.env === undefined ? [] : [[s.field.env, { key: s.path.join("."), yamlKey: s.name, kind: s.field.kind }]])),
);

if (Object.keys(envOverrides).length !== settings.filter((s) => s.field.env !== undefined).length) {
  throw new Error("config declaration: an environment variable is declared twice");
}
