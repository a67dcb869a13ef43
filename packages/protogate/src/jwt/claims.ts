import { create, isFieldSet, ScalarType, type DescField, type DescMessage, type Message, type MessageShape } from "@bufbuild/protobuf";

/** What to do with a claim the claims message does not declare. */
export type UnknownClaims = "reject" | "ignore";

/** Claims the codec sets and checks itself; a claims message may not declare them. */
export const registeredClaims: ReadonlySet<string> = new Set(["iss", "aud", "exp", "nbf", "iat", "jti"]);

/** Most items accepted in one list claim. */
export const maxListClaimItems = 32;

/** A claims payload that does not fit the declared message. */
export class ClaimsError extends Error {
  override name = "ClaimsError";
}

/**
 * Checks, once, that a message can carry JWT claims: scalar, enum, list and nested message
 * fields only (no maps, no oneofs), none named like a registered claim. Throws a `TypeError`.
 */
export function assertClaimsMessage(desc: DescMessage, depth = 0): void {
  if (depth > 4) throw new TypeError(`${desc.typeName}: claims nest too deep`);
  for (const f of desc.fields) {
    const where = `${desc.typeName}.${f.name}`;
    if (depth === 0 && registeredClaims.has(f.jsonName)) throw new TypeError(`${where}: "${f.jsonName}" is a registered claim, set by the codec`);
    if (f.fieldKind === "map") throw new TypeError(`${where}: map fields cannot be claims`);
    if (f.oneof !== undefined) throw new TypeError(`${where}: oneof fields cannot be claims`);
    if (f.fieldKind === "message") assertClaimsMessage(f.message, depth + 1);
    if (f.fieldKind === "list" && f.listKind === "message") assertClaimsMessage(f.message, depth + 1);
  }
}

/**
 * The claims of a message as JWT payload members, by their JSON names. Unset fields and
 * zero values without presence are left out; 64-bit integers are written as JSON numbers (as
 * JWT claims usually are), and must therefore be safe integers.
 */
export function claimsToJson(desc: DescMessage, message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const msg = message as unknown as Record<string, unknown>;
  for (const f of desc.fields) {
    if (!isFieldSet(message, f)) continue;
    const v = msg[f.localName];
    if (f.fieldKind === "list") out[f.jsonName] = (v as unknown[]).map((item) => valueToJson(f, item));
    else out[f.jsonName] = valueToJson(f, v);
  }
  return out;
}

function valueToJson(f: DescField, v: unknown): unknown {
  const kind = f.fieldKind === "list" ? f.listKind : f.fieldKind;
  if (kind === "enum") {
    const value = f.enum!.values.find((e) => e.number === v);
    if (value === undefined) throw new ClaimsError(`${f.jsonName}: ${String(v)} is not a value of ${f.enum!.typeName}`);
    return value.name;
  }
  if (kind === "message") return claimsToJson(f.message!, v as Message);
  if (typeof v === "bigint") {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new ClaimsError(`${f.jsonName}: ${v} is not a safe integer`);
    return n;
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64url");
  return v;
}

/**
 * Decodes JWT payload members strictly into the claims message: each declared claim must have
 * exactly its field's JSON type (a number for numeric fields, integers within the field's
 * range, a string for strings, an enum value's name, at most {@link maxListClaimItems} items in
 * a list; `null` is never a value). Registered claims are skipped; any other undeclared member
 * is refused or ignored as `unknown` says. Throws {@link ClaimsError}.
 */
export function claimsFromJson<Desc extends DescMessage>(desc: Desc, payload: Record<string, unknown>, unknown: UnknownClaims, skip = registeredClaims): MessageShape<Desc> {
  const init: Record<string, unknown> = {};
  let matched = 0;
  for (const f of desc.fields) {
    if (!Object.hasOwn(payload, f.jsonName)) continue;
    matched++;
    const v = payload[f.jsonName];
    if (f.fieldKind === "list") {
      if (!Array.isArray(v) || v.length > maxListClaimItems) throw new ClaimsError(`${f.jsonName}: not a list of at most ${maxListClaimItems}`);
      init[f.localName] = v.map((item) => valueFromJson(f, item, unknown));
    } else {
      init[f.localName] = valueFromJson(f, v, unknown);
    }
  }
  if (unknown === "reject") {
    let members = 0;
    for (const key in payload) if (!skip.has(key)) members++;
    if (members !== matched) throw new ClaimsError("an undeclared claim");
  }
  return create(desc, init as never);
}

const int32 = [-(2 ** 31), 2 ** 31 - 1] as const;
const uint32 = [0, 2 ** 32 - 1] as const;

function valueFromJson(f: DescField, v: unknown, unknown: UnknownClaims): unknown {
  const kind = f.fieldKind === "list" ? f.listKind : f.fieldKind;
  if (kind === "enum") {
    // strict equality: only a string can name a value
    const value = f.enum!.values.find((e) => e.name === v);
    if (value === undefined) throw new ClaimsError(`${f.jsonName}: not a value of ${f.enum!.typeName}`);
    return value.number;
  }
  if (kind === "message") {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ClaimsError(`${f.jsonName}: not an object`);
    return claimsFromJson(f.message!, v as Record<string, unknown>, unknown, noneSkipped);
  }
  const bad = () => new ClaimsError(`${f.jsonName}: not of type ${ScalarType[f.scalar!]!.toLowerCase()}`);
  switch (f.scalar!) {
    case ScalarType.STRING:
      if (typeof v !== "string") throw bad();
      return v;
    case ScalarType.BOOL:
      if (typeof v !== "boolean") throw bad();
      return v;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      if (!Number.isFinite(v)) throw bad(); // true of finite numbers only, no coercion
      return v;
    case ScalarType.BYTES: {
      if (typeof v !== "string") throw bad();
      const bytes = Buffer.from(v, "base64url");
      if (bytes.toString("base64url") !== v) throw bad();
      return new Uint8Array(bytes);
    }
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return integer(v, int32, bad);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return integer(v, uint32, bad);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return BigInt(integer(v, [0, Number.MAX_SAFE_INTEGER], bad));
    default: // INT64, SINT64, SFIXED64
      return BigInt(integer(v, [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], bad));
  }
}

const noneSkipped: ReadonlySet<string> = new Set();

function integer(v: unknown, [min, max]: readonly [number, number], bad: () => Error): number {
  // Number.isInteger is true of numbers only, no coercion
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw bad();
  return v as number;
}
