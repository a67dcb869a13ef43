import { isIP } from "node:net";

/** A JSON Schema (draft 2020-12) fragment, as plain data. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/**
 * A value a field refuses. The message says what was expected ("must be an integer from 1 to
 * 10"), never which setting: the loader adds the name (YAML path or environment variable).
 */
export class InvalidValue extends Error {
  override name = "InvalidValue";
}

/** What {@link envOverrides} tells about a variable's value. */
export type FieldKind = "string" | "integer" | "boolean" | "enum" | "list";

/** One setting: where it is read from, its default, how it is checked, what it means. */
export interface Field<T> {
  readonly type: "field";
  /** The key in its YAML mapping, go-zero style (`AccessExpire`). */
  readonly yaml: string;
  /** The environment variable that overrides it, if any. */
  readonly env: string | undefined;
  readonly default: T;
  /** How docs show the default when not as the value itself (`generated`). */
  readonly defaultText: string | undefined;
  /** One line for the README table, the JSON Schema and editors. */
  readonly doc: string;
  readonly kind: FieldKind;
  /** Reads a YAML value or an environment string; throws {@link InvalidValue}. */
  readonly read: (value: unknown) => T;
  /** The JSON Schema of what the YAML may hold (a `${VAR}` reference included). */
  readonly schema: JsonSchema;
}

/** A YAML mapping of fields; `yaml: undefined` puts its fields at the top of the document. */
export interface Section<F extends Fields = Fields> {
  readonly type: "section";
  readonly yaml: string | undefined;
  readonly doc: string | undefined;
  readonly fields: F;
  /** A rule across fields, run on the final values: a sentence naming the settings, or undefined. */
  check?(value: SectionValue<F>, name: (key: keyof F & string) => string): string | undefined;
}

export type Fields = { readonly [key: string]: Field<unknown> };
export type Declaration = { readonly [key: string]: Field<unknown> | Section };

/** The value a field or section declares. */
export type ValueOf<E> = E extends Field<infer T> ? T : E extends Section<infer F> ? SectionValue<F> : never;
export type SectionValue<F extends Fields> = { readonly [K in keyof F]: ValueOf<F[K]> };
/** The configuration a declaration describes: each field's value under its camelCase key. */
export type ConfigOf<D extends Declaration> = { readonly [K in keyof D]: ValueOf<D[K]> };

interface Common<T> {
  yaml: string;
  env?: string;
  default: T;
  defaultText?: string;
  doc: string;
}

/** A `${VAR}` or `${VAR:-fallback}` reference, expanded by the loader before the value is checked. */
const variable = String.raw`\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}`;
const wholeVariable = `^${variable}$`;

function field<T>(o: Common<T>, kind: FieldKind, read: (value: unknown) => T, schema: JsonSchema): Field<T> {
  return {
    type: "field",
    yaml: o.yaml,
    env: o.env,
    default: o.default,
    defaultText: o.defaultText,
    doc: o.doc,
    kind,
    read,
    // every schema admits null: `Key:` with nothing after it keeps the default
    schema: { description: o.doc, default: o.default, ...schema },
  };
}

export function section<F extends Fields>(o: {
  yaml: string | undefined;
  doc?: string;
  fields: F;
  check?: (value: SectionValue<F>, name: (key: keyof F & string) => string) => string | undefined;
}): Section<F> {
  return { type: "section", yaml: o.yaml, doc: o.doc, fields: o.fields, ...(o.check ? { check: o.check } : {}) };
}

/** Common integer ranges. */
export const port = { min: 0, max: 65535 } as const;
export const seconds = { min: 1, max: 30 * 24 * 3600 } as const;
export const millis = { min: 10, max: 600_000 } as const;
export const entries = { min: 1, max: 10_000_000 } as const;

/** A whole number in `[min, max]`; the environment's digits are read as one. */
export function int(o: Common<number> & { min: number; max: number }): Field<number> {
  const { min, max } = o;
  return field(
    o,
    "integer",
    (v) => {
      const n = typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
      if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
        throw new InvalidValue(`must be an integer from ${min} to ${max}`);
      }
      return n;
    },
    { type: ["integer", "string", "null"], minimum: min, maximum: max, pattern: wholeVariable },
  );
}

/** Text; `check` refuses what is not allowed (throwing {@link InvalidValue}). */
export function str(o: Common<string> & { check?: (v: string) => void; schema?: JsonSchema }): Field<string> {
  return field(
    o,
    "string",
    (v) => {
      if (typeof v !== "string") throw new InvalidValue("must be a string");
      o.check?.(v);
      return v;
    },
    { type: ["string", "null"], ...o.schema },
  );
}

export function bool(o: Common<boolean>): Field<boolean> {
  return field(
    o,
    "boolean",
    (v) => {
      if (typeof v === "boolean") return v;
      if (v === "true" || v === "false") return v === "true";
      throw new InvalidValue("must be true or false");
    },
    { type: ["boolean", "string", "null"], pattern: `^(?:true|false|${variable})$` },
  );
}

/** One of `values`; `expected` words the error when "one of a, b, c" reads badly. */
export function enumOf<const V extends readonly [string, ...string[]]>(
  o: Common<V[number]> & { values: V; expected?: string },
): Field<V[number]> {
  const expected = o.expected ?? `one of ${o.values.join(", ")}`;
  return field(
    o,
    "enum",
    (v) => {
      if (!o.values.includes(v as string)) throw new InvalidValue(`must be ${expected}`);
      return v as V[number];
    },
    { anyOf: [{ enum: o.values }, { type: "string", pattern: wholeVariable }, { type: "null" }] },
  );
}

/** A field whose value type is wider than what it accepts (a `string` holding a log level). */
export function widen<T>(f: Field<T>): Field<T> {
  return f;
}

/** A YAML list, or a comma-separated string (from the environment), whose every item is `ok`. */
export function list(o: Common<readonly string[]> & { what: string; ok: (item: string) => boolean; item?: JsonSchema }): Field<readonly string[]> {
  return field(
    o,
    "list",
    (v) => {
      const items = typeof v === "string" ? v.split(",").map((item) => item.trim()).filter(Boolean) : v;
      if (!Array.isArray(items) || !items.every((item) => typeof item === "string" && o.ok(item))) {
        throw new InvalidValue(`must be a list of ${o.what}`);
      }
      return items as string[];
    },
    // a string is a comma-separated list
    { type: ["array", "string", "null"], items: { type: "string", ...o.item } },
  );
}

/** Parses a URL for validation; the message never repeats the URL, which may hold a password. */
export function checkUrl(v: string, protocols: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new InvalidValue("is not a valid URL");
  }
  if (!protocols.includes(url.protocol)) throw new InvalidValue(`must use ${protocols.map((p) => p + "//").join(" or ")}`);
  if (url.hostname === "") throw new InvalidValue("must name a host");
  return url;
}

/** A URL with one of `protocols` (`"https:"`), or empty. */
export function optionalUrl(protocols: readonly string[]): { check: (v: string) => void; schema: JsonSchema } {
  const schemes = protocols.map((p) => p.slice(0, -1)).join("|");
  return {
    check: (v) => {
      if (v !== "") checkUrl(v, protocols);
    },
    schema: { pattern: `^(?:$|(?:${schemes})://|${variable})` },
  };
}

export function isCidr(text: string): boolean {
  const [address, bits, extra] = text.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}
