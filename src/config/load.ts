import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { Config } from "./declaration.js";
import { type Field, InvalidValue } from "./fields.js";
import { envOverrides, sectionChecks, settings, type Setting, type YamlMapping, yamlRoot } from "./settings.js";

/** A configuration problem, reported as one line naming the key; never a secret's value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The embedded default: SQLite under `data/`, an in-process cache, a generated secret. */
export const defaultConfig: Config = deepFreeze(defaults());

function defaults(): Config {
  const config: Record<string, unknown> = {};
  for (const s of settings) setPath(config, s.path, structuredClone(s.field.default));
  return config as unknown as Config;
}

const byEnv = new Map(settings.filter((s) => s.field.env !== undefined).map((s) => [s.field.env!, s]));

/**
 * Loads the configuration: the defaults, then the YAML file when given (with `${VAR}` and
 * `${VAR:-fallback}` expanded in its string values), then the environment overrides.
 * Throws {@link ConfigError} on an unknown key or a value out of range.
 *
 * @example
 * const config = loadConfig({ file: "etc/bookstore.yaml", env: process.env });
 */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = options.env ?? {};
  const config = structuredClone(defaultConfig) as unknown as Record<string, unknown>;
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`config file ${options.file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
    }
    if (doc !== null && doc !== undefined) applyYaml(config, yamlRoot, doc, "", env);
  }
  for (const name of Object.keys(envOverrides)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const setting = byEnv.get(name)!;
    setPath(config, setting.path, read(setting.field, raw, name));
  }
  for (const { key, section, name } of sectionChecks) {
    const problem = section.check!(config[key] as never, name);
    if (problem !== undefined) throw new ConfigError(`config: ${problem}`);
  }
  return deepFreeze(config as unknown as Config);
}

/** The field's check, its complaint prefixed with the setting's name (YAML path or variable). */
function read(field: Field<unknown>, value: unknown, where: string): unknown {
  try {
    return field.read(value);
  } catch (err) {
    if (err instanceof InvalidValue) throw new ConfigError(`config: ${where} ${err.message}`);
    throw err;
  }
}

function applyYaml(target: Record<string, unknown>, mapping: YamlMapping, value: unknown, where: string, env: NodeJS.ProcessEnv): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`config: ${where || "the document"} must be a mapping`);
  }
  for (const [k, v] of Object.entries(value)) {
    const name = where ? `${where}.${k}` : k;
    const entry = mapping.entries.get(k);
    if (entry === undefined) throw new ConfigError(`config: unknown key ${name}`);
    if (v === null || v === undefined) continue;
    if (isSetting(entry)) {
      const expanded = typeof v === "string" ? expandVars(v, name, env) : v;
      setPath(target, entry.path, read(entry.field, expanded, name));
    } else {
      applyYaml(target, entry, v, name, env);
    }
  }
}

function isSetting(entry: Setting | YamlMapping): entry is Setting {
  return "field" in entry;
}

function expandVars(text: string, where: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
    const v = env[name];
    if (v !== undefined && v !== "") return v;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`config: ${where} refers to \${${name}}, which is not set`);
  });
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const k of path.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
