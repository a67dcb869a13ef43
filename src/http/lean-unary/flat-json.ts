import { create, isMessage, ScalarType, type DescMessage, type JsonReadOptions, type JsonWriteOptions } from "@bufbuild/protobuf";
import { isScalarZeroValue } from "@bufbuild/protobuf/reflect";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import type { Serialization } from "@connectrpc/connect/protocol";

/** The JSON options a Connect router passes on, and its message size limits. */
export interface FlatJsonOptions {
  readonly jsonOptions?: Partial<JsonReadOptions & JsonWriteOptions>;
  readonly readMaxBytes: number;
  readonly writeMaxBytes: number;
}

type Kind = "string" | "bool" | "int32" | "uint32" | "int64" | "uint64";

interface FlatField {
  /** Its place in the message's fields, by number. */
  readonly index: number;
  readonly localName: string;
  /** The keys that name it in JSON input: its proto name and its JSON name. */
  readonly names: readonly string[];
  readonly scalar: ScalarType;
  readonly kind: Kind;
  /** The field's name in the output, JSON-quoted, with its colon. */
  readonly outKey: string;
}

const kinds = new Map<ScalarType, Kind>([
  [ScalarType.STRING, "string"],
  [ScalarType.BOOL, "bool"],
  [ScalarType.INT32, "int32"],
  [ScalarType.SINT32, "int32"],
  [ScalarType.SFIXED32, "int32"],
  [ScalarType.UINT32, "uint32"],
  [ScalarType.FIXED32, "uint32"],
  [ScalarType.INT64, "int64"],
  [ScalarType.SINT64, "int64"],
  [ScalarType.SFIXED64, "int64"],
  [ScalarType.UINT64, "uint64"],
  [ScalarType.FIXED64, "uint64"],
]);

// decimal strings whose value fits the type whatever the digits (18 signed, 19 unsigned)
const int64Text = /^(?:0|-?[1-9][0-9]{0,17})$/;
const uint64Text = /^(?:0|[1-9][0-9]{0,18})$/;

const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** A field's value read from JSON, in the form protobuf-es stores it, or undefined when it is not the plain case. */
function readValue(kind: Kind, v: unknown): string | boolean | number | bigint | undefined {
  switch (kind) {
    case "string":
      return typeof v === "string" && wellFormed(v) ? v : undefined;
    case "bool":
      return typeof v === "boolean" ? v : undefined;
    case "int32":
      return typeof v === "number" && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff ? v : undefined;
    case "uint32":
      return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : undefined;
    case "int64":
      return typeof v === "string" && int64Text.test(v) ? BigInt(v) : undefined;
    case "uint64":
      return typeof v === "string" && uint64Text.test(v) ? BigInt(v) : undefined;
  }
}

/** A string as JSON text: printable ASCII with nothing to escape in quotes as it is, anything else by JSON.stringify. */
function quoted(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** A field's value as JSON text, or undefined when it is not in the form protobuf-es stores. */
function writeValue(kind: Kind, v: unknown): string | undefined {
  switch (kind) {
    case "string":
      return typeof v === "string" ? quoted(v) : undefined;
    case "bool":
      return typeof v === "boolean" ? (v ? "true" : "false") : undefined;
    case "int32":
    case "uint32":
      return typeof v === "number" ? JSON.stringify(v) : undefined;
    case "int64":
    case "uint64":
      return typeof v === "bigint" ? `"${v.toString()}"` : undefined;
  }
}

/**
 * The members of a JSON object text whose values are all strings, numbers or booleans: its
 * colons outside strings. JSON.parse keeps the last of duplicate keys; this count does not.
 */
function memberCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) n++;
    else if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    }
  }
  return n;
}

const encoder = new TextEncoder();

/** UTF-8 of a text: short ASCII ones (most answers) byte by byte, which is faster than TextEncoder. */
function utf8(text: string): Uint8Array<ArrayBuffer> {
  if (text.length > 512) return encoder.encode(text);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(text);
    out[i] = c;
  }
  return out;
}

// JSON's white space: space, tab, line feed, carriage return
const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

function skipSpace(bytes: string, i: number): number {
  while (isSpace(bytes.charCodeAt(i))) i++;
  return i;
}

const latin1 = (bytes: Uint8Array): string => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString("latin1");

/**
 * The end (closing quote) of a JSON string starting after its opening quote at `i`, when every
 * byte up to it is printable ASCII other than a backslash; -1 otherwise (an escape, a control
 * character, UTF-8, no end), for the general path to read.
 */
function plainStringEnd(bytes: string, i: number): number {
  for (; i < bytes.length; i++) {
    const b = bytes.charCodeAt(i);
    if (b === 0x22) return i;
    if (b < 0x20 || b > 0x7e || b === 0x5c) return -1;
  }
  return -1;
}

/**
 * The end of a JSON integer at `i` (an optional minus, then 0 or a digit run not starting with
 * 0); -1 otherwise. A fraction or exponent after it is not a member's end, which sends the body
 * to the text path; too many digits fail the field's range.
 */
function integerEnd(bytes: string, i: number): number {
  const digit = (j: number) => bytes.charCodeAt(j) >= 0x30 && bytes.charCodeAt(j) <= 0x39;
  if (bytes.charCodeAt(i) === 0x2d) i++;
  if (bytes.charCodeAt(i) === 0x30) return i + 1;
  if (!digit(i)) return -1;
  while (digit(i)) i++;
  return i;
}

function flatFields(desc: DescMessage, useProtoFieldName: boolean): FlatField[] | undefined {
  if (desc.typeName.startsWith("google.protobuf.") || desc.oneofs.length > 0) return undefined;
  const out: FlatField[] = [];
  for (const f of [...desc.fields].sort((a, b) => a.number - b.number)) {
    if (f.fieldKind !== "scalar") return undefined;
    const kind = kinds.get(f.scalar);
    if (kind === undefined || f.oneof !== undefined || f.presence !== FeatureSet_FieldPresence.IMPLICIT || f.longAsString) return undefined;
    out.push({ index: out.length, localName: f.localName, names: [f.name, f.jsonName], scalar: f.scalar, kind, outKey: `${JSON.stringify(useProtoFieldName ? f.name : f.jsonName)}:` });
  }
  return out;
}

/**
 * Connect's JSON serialization of one message type (`fallback`, as
 * `createMethodSerializationLookup(...).getI(false)` / `getO(false)` give it), with a shortcut
 * for the plain case of a flat message: every field a singular string, bool or integer with
 * implicit presence (no oneof, message, enum, list, map, float or bytes field, no `jstype`). The
 * shortcut reads a JSON object whose values are all of their field's plain form (a string, a
 * boolean, an integer number for 32-bit fields, a canonical decimal string for 64-bit ones) and
 * writes a message whose values are all in protobuf-es's form; anything else — a null, a
 * duplicate or unknown key, a number for a 64-bit field, an ill-formed string, a body over the
 * limit, invalid JSON — is left to `fallback`, so every answer and every error is protobuf-es's
 * own (`test/http/flat-json.test.ts` holds the two to each other over generated input). Messages
 * that are not flat, and options with a registry or pretty-printing, get `fallback` itself.
 *
 * It exists for speed: protobuf-es reads and writes JSON by reflection (a reflect object, a
 * field lookup and a type check per field, a duplicate-key scan), ~1.2 µs each way for a
 * one-field request, several times what the plain case needs.
 */
export function createFlatJsonSerialization<T>(desc: DescMessage, options: FlatJsonOptions, fallback: Serialization<T>): Serialization<T> {
  const json = options.jsonOptions ?? {};
  // toJsonString takes prettySpaces too, if a caller passes it along
  if (json.registry !== undefined || ((json as { prettySpaces?: number }).prettySpaces ?? 0) !== 0) return fallback;
  const fields = flatFields(desc, json.useProtoFieldName ?? false);
  if (fields === undefined) return fallback;
  const byKey = new Map<string, FlatField>(fields.flatMap((f) => f.names.map((name) => [name, f] as const)));
  // Connect's default, not protobuf-es's: unknown keys are ignored unless told otherwise
  const ignoreUnknown = json.ignoreUnknownFields ?? true;
  const alwaysEmit = json.alwaysEmitImplicit ?? false;
  const decoder = new TextDecoder();
  const { readMaxBytes, writeMaxBytes } = options;
  // a new message is a copy of this one when protobuf-es makes them plain objects of zero values
  const zero = create(desc);
  const fresh = Object.getPrototypeOf(zero) === Object.prototype ? () => ({ ...zero }) as Record<string, unknown> : () => create(desc) as Record<string, unknown>;
  // the fields a body has named, by index: one array reused by every (synchronous) read
  const seen = new Uint8Array(fields.length);
  // the bytes of each frozen message written (the same answer sent again is not written again);
  // nothing downstream writes into a response body, so one array can serve many responses
  const written = new WeakMap<object, Uint8Array<ArrayBuffer>>();
  const firstTime = (f: FlatField): boolean => {
    if (seen[f.index] !== 0) return false;
    seen[f.index] = 1;
    return true;
  };
  /**
   * The common body read straight from its bytes (as latin1 text): an object of known keys, once each, whose
   * strings are plain ASCII and whose values are their field's plain form. Undefined for
   * anything else, which the text path below reads.
   */
  const scan = (t: string): Record<string, unknown> | undefined => {
    let i = skipSpace(t, 0);
    if (t.charCodeAt(i) !== 0x7b) return undefined;
    const message = fresh();
    seen.fill(0);
    i = skipSpace(t, i + 1);
    if (t.charCodeAt(i) === 0x7d) return skipSpace(t, i + 1) === t.length ? message : undefined;
    for (;;) {
      if (t.charCodeAt(i) !== 0x22) return undefined;
      const keyEnd = plainStringEnd(t, i + 1);
      if (keyEnd < 0) return undefined;
      const f = byKey.get(t.slice(i + 1, keyEnd));
      if (f === undefined || !firstTime(f)) return undefined;
      i = skipSpace(t, keyEnd + 1);
      if (t.charCodeAt(i) !== 0x3a) return undefined;
      i = skipSpace(t, i + 1);
      let end: number;
      let value: unknown;
      if (f.kind === "bool") {
        if (t.startsWith("true", i)) (value = true), (end = i + 4);
        else if (t.startsWith("false", i)) (value = false), (end = i + 5);
        else return undefined;
      } else if (f.kind === "int32" || f.kind === "uint32") {
        end = integerEnd(t, i);
        value = end < 0 ? undefined : readValue(f.kind, Number(t.slice(i, end)));
      } else {
        if (t.charCodeAt(i) !== 0x22) return undefined;
        end = plainStringEnd(t, i + 1);
        value = end < 0 ? undefined : readValue(f.kind, t.slice(i + 1, end));
        end++;
      }
      if (value === undefined) return undefined;
      message[f.localName] = value;
      i = skipSpace(t, end);
      if (t.charCodeAt(i) === 0x2c) i = skipSpace(t, i + 1);
      else if (t.charCodeAt(i) === 0x7d) return skipSpace(t, i + 1) === t.length ? message : undefined;
      else return undefined;
    }
  };
  return {
    parse(bytes) {
      if (bytes.byteLength > readMaxBytes) return fallback.parse(bytes);
      // each byte as one character: a plain body is ASCII, and any other byte sends it to the text path
      const scanned = scan(latin1(bytes));
      if (scanned !== undefined) return scanned as T;
      const text = decoder.decode(bytes);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return fallback.parse(bytes);
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return fallback.parse(bytes);
      const obj = parsed as Record<string, unknown>;
      const message = fresh();
      seen.fill(0);
      const keys = Object.keys(obj);
      for (const key of keys) {
        const v = obj[key];
        const f = byKey.get(key);
        if (f === undefined) {
          if (ignoreUnknown && v !== null && typeof v !== "object") continue;
          return fallback.parse(bytes);
        }
        const value = firstTime(f) ? readValue(f.kind, v) : undefined;
        if (value === undefined) return fallback.parse(bytes);
        message[f.localName] = value;
      }
      if (memberCount(text) !== keys.length) return fallback.parse(bytes);
      return message as T;
    },
    serialize(message) {
      if (!isMessage(message, desc)) return fallback.serialize(message);
      // a frozen message cannot change: its bytes, once written, are its bytes for good
      const frozen = Object.isFrozen(message);
      if (frozen) {
        const known = written.get(message);
        if (known !== undefined) return known;
      }
      const m = message as unknown as Record<string, unknown>;
      let out = "{";
      for (const f of fields) {
        const v = m[f.localName];
        const text = writeValue(f.kind, v);
        if (text === undefined) return fallback.serialize(message);
        if (!alwaysEmit && isScalarZeroValue(f.scalar, v)) continue;
        out += out.length === 1 ? f.outKey + text : `,${f.outKey}${text}`;
      }
      const bytes = utf8(`${out}}`);
      if (bytes.byteLength > writeMaxBytes) return fallback.serialize(message);
      if (frozen) written.set(message, bytes);
      return bytes;
    },
  };
}
