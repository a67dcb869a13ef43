import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, sign as nodeSign, X509Certificate, type KeyObject } from "node:crypto";
import { exportJWK, SignJWT } from "jose";

/** A named `authorization` header value (undefined: no header) that must be refused. */
export interface BadToken {
  readonly name: string;
  readonly authorization: string | undefined;
}

const enc = (v: unknown): string =>
  Buffer.isBuffer(v) ? v.toString("base64url") : Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

function hmac(input: string, key: string | Buffer, hash = "sha256"): string {
  return createHmac(hash, key).update(input).digest("base64url");
}

/** header.payload signed with HMAC over `key`; header and payload as objects, strings or raw bytes. */
function signed(header: unknown, payload: unknown, key: string | Buffer, hash = "sha256"): string {
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${hmac(input, key, hash)}`;
}

/** Replaces the character at `i` with another of the base64url alphabet. */
function swapChar(s: string, i: number): string {
  const c = s[i] === "A" ? "B" : "A";
  return s.slice(0, i) + c + s.slice(i + 1);
}

/** DER: a tag, its definite length, and the contents. */
function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

/** A DER object identifier from its dotted form. */
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}

/**
 * A self-signed X.509 v3 certificate (base64 DER, CN=attacker, sha256WithRSAEncryption), for
 * an x5c header the server must ignore. Built here from DER, not by a tool that might be
 * missing, and checked with node:crypto: it throws rather than return anything but a real certificate.
 */
function selfSignedCertificate(key: KeyObject): string {
  const rsaSha256 = der(0x30, oid("1.2.840.113549.1.1.11"), der(0x05));
  const name = der(0x30, der(0x31, der(0x30, oid("2.5.4.3"), der(0x0c, Buffer.from("attacker")))));
  const utcTime = (d: Date) => der(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z"));
  const now = Date.now();
  const tbs = der(
    0x30,
    der(0xa0, der(0x02, Buffer.from([2]))), // version: v3
    der(0x02, Buffer.from([0x01, ...randomBytes(8)])), // a positive serial number
    rsaSha256,
    name,
    der(0x30, utcTime(new Date(now - 60_000)), utcTime(new Date(now + 86_400_000))),
    name,
    createPublicKey(key).export({ type: "spki", format: "der" }),
  );
  const signature = nodeSign("sha256", tbs, key);
  const cert = der(0x30, tbs, rsaSha256, der(0x03, Buffer.from([0]), signature));
  const parsed = new X509Certificate(cert);
  if (parsed.subject !== "CN=attacker" || !parsed.verify(createPublicKey(key)) || parsed.checkIssued(parsed) !== true) {
    throw new Error("the x5c test certificate did not come out as a self-signed certificate");
  }
  return cert.toString("base64");
}

/**
 * The 131 tokens an attacker could send (the README's count, held exactly by tokens.test.ts), generated from keys made here (nothing secret is
 * committed). Each carries `canary` somewhere an echo would show. `secret` is the server's own
 * HS256 secret: tokens signed with it prove that claim checks, not only the signature, refuse.
 */
export async function badTokens(ctx: { secret: string; now: number; canary: string; probeUrl: string; validToken: string }): Promise<BadToken[]> {
  const { secret, now, canary, probeUrl, validToken } = ctx;
  const claims = { userId: 1, iat: now, exp: now + 600, canary };
  const hs = { alg: "HS256", typ: "JWT" };
  const good = signed(hs, claims, secret);
  const [gh, gp, gs] = good.split(".") as [string, string, string];
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ed = generateKeyPairSync("ed25519");
  const rsaSpki = rsa.publicKey.export({ type: "spki", format: "pem" }) as string;
  const rsaPkcs1 = rsa.publicKey.export({ type: "pkcs1", format: "pem" }) as string;
  const rsaDer = rsa.publicKey.export({ type: "spki", format: "der" });
  const rsaJwk = await exportJWK(rsa.publicKey);
  const ecSpki = ec.publicKey.export({ type: "spki", format: "pem" }) as string;
  const attackerSecret = randomBytes(32);
  const deep = (n: number) => `{"userId":1,"exp":${now + 600},"x":${"[".repeat(n)}${"]".repeat(n)},"canary":"${canary}"}`;
  const t: [string, string | undefined][] = [];
  const add = (name: string, authorization: string | undefined) => t.push([name, authorization]);

  // signature
  add("tampered payload, original signature", `${gh}.${enc({ ...claims, userId: 2 })}.${gs}`);
  add("tampered header, original signature", `${enc({ alg: "HS256" })}.${gp}.${gs}`);
  add("signature: first character changed", `${gh}.${gp}.${swapChar(gs, 0)}`);
  add("signature: a middle character changed", `${gh}.${gp}.${swapChar(gs, 20)}`);
  add("signature: truncated by one byte", `${gh}.${gp}.${Buffer.from(gs, "base64url").subarray(0, 31).toString("base64url")}`);
  add("signature: truncated to half", `${gh}.${gp}.${gs.slice(0, 20)}`);
  add("signature: lengthened", `${gh}.${gp}.${Buffer.concat([Buffer.from(gs, "base64url"), Buffer.alloc(3)]).toString("base64url")}`);
  add("signature: empty", `${gh}.${gp}.`);
  add("signature: all zero bytes", `${gh}.${gp}.${Buffer.alloc(32).toString("base64url")}`);
  add("signature by another secret", signed(hs, claims, attackerSecret));
  add("signature of another token", `${gh}.${gp}.${validToken.split(".")[2]}`);
  add("signature: HMAC-SHA256 truncated to 16 bytes", `${gh}.${gp}.${Buffer.from(gs, "base64url").subarray(0, 16).toString("base64url")}`);

  // alg
  for (const alg of ["none", "None", "NONE", "nOnE"]) {
    add(`alg ${alg}, no signature`, `${enc({ alg, typ: "JWT" })}.${enc(claims)}.`);
    add(`alg ${alg}, a signature`, `${enc({ alg, typ: "JWT" })}.${enc(claims)}.${gs}`);
  }
  add("alg missing", signed({ typ: "JWT" }, claims, secret));
  add("alg null", signed({ alg: null }, claims, secret));
  add("alg array", signed({ alg: ["HS256"] }, claims, secret));
  add("alg lower case hs256", signed({ alg: "hs256" }, claims, secret));
  add("alg with a trailing space", signed({ alg: "HS256 " }, claims, secret));
  add("alg a number", signed({ alg: 256 }, claims, secret));
  add("HS384 with the server's secret", signed({ alg: "HS384" }, claims, secret, "sha384"));
  add("HS512 with the server's secret", signed({ alg: "HS512" }, claims, secret, "sha512"));
  add("RS256 header, HMAC signature", signed({ alg: "RS256" }, claims, secret));
  add("ES256 header, HMAC signature", signed({ alg: "ES256" }, claims, secret));
  add("EdDSA header, HMAC signature", signed({ alg: "EdDSA" }, claims, secret));
  add("PS256 header, HMAC signature", signed({ alg: "PS256" }, claims, secret));

  // RS -> HS key confusion: the public key, in every encoding, used as the HMAC secret
  add("key confusion: RSA SPKI PEM as HMAC secret", signed(hs, claims, rsaSpki));
  add("key confusion: RSA PKCS#1 PEM as HMAC secret", signed(hs, claims, rsaPkcs1));
  add("key confusion: RSA PEM without trailing newline", signed(hs, claims, rsaSpki.trimEnd()));
  add("key confusion: RSA DER as HMAC secret", signed(hs, claims, rsaDer));
  add("key confusion: RSA DER base64 as HMAC secret", signed(hs, claims, rsaDer.toString("base64")));
  add("key confusion: RSA JWK JSON as HMAC secret", signed(hs, claims, JSON.stringify(rsaJwk)));
  add("key confusion: RSA modulus as HMAC secret", signed(hs, claims, Buffer.from(rsaJwk.n!, "base64url")));
  add("key confusion: EC SPKI PEM as HMAC secret", signed(hs, claims, ecSpki));

  // keys and key locations embedded in the header
  const attackerJwk = { kty: "oct", k: attackerSecret.toString("base64url") };
  add("jwk header with the attacker's HMAC key", signed({ alg: "HS256", jwk: attackerJwk }, claims, attackerSecret));
  add(
    "jwk header with the attacker's RSA key, RS256",
    await new SignJWT(claims).setProtectedHeader({ alg: "RS256", jwk: await exportJWK(rsa.publicKey) }).sign(rsa.privateKey),
  );
  add("jku header pointing at the attacker", signed({ alg: "HS256", jku: `${probeUrl}/jwks.json`, kid: "k1" }, claims, attackerSecret));
  add("jku header, RS256", await new SignJWT(claims).setProtectedHeader({ alg: "RS256", jku: `${probeUrl}/jwks.json` }).sign(rsa.privateKey));
  add("x5u header pointing at the attacker", signed({ alg: "HS256", x5u: `${probeUrl}/cert.pem` }, claims, attackerSecret));
  add(
    "x5c header with a self-signed certificate, RS256",
    await new SignJWT(claims).setProtectedHeader({ alg: "RS256", x5c: [selfSignedCertificate(rsa.privateKey)] }).sign(rsa.privateKey),
  );

  // kid
  add("kid path traversal, signed with an empty key", signed({ alg: "HS256", kid: "../../../../../../dev/null" }, claims, ""));
  add("kid /etc/passwd", signed({ alg: "HS256", kid: "/etc/passwd" }, claims, attackerSecret));
  add("kid SQL injection", signed({ alg: "HS256", kid: "x' UNION SELECT 'secret" }, claims, "secret"));
  add("kid command injection", signed({ alg: "HS256", kid: "k | rm -rf /" }, claims, attackerSecret));
  add("kid with a NUL byte", signed({ alg: "HS256", kid: "k\u0000" }, claims, attackerSecret));

  // ECDSA
  const es = (sig: Buffer) => `${enc({ alg: "ES256" })}.${enc(claims)}.${sig.toString("base64url")}`;
  add("ES256 with r = s = 0", es(Buffer.alloc(64)));
  const esInput = `${enc({ alg: "ES256" })}.${enc(claims)}`;
  const esSig = nodeSign("sha256", Buffer.from(esInput), { key: ec.privateKey, dsaEncoding: "ieee-p1363" });
  const n = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  const s = BigInt("0x" + esSig.subarray(32).toString("hex"));
  const highS = Buffer.concat([esSig.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, "0"), "hex")]);
  add("ES256 by the attacker's key", `${esInput}.${esSig.toString("base64url")}`);
  add("ES256 high-s signature", `${esInput}.${highS.toString("base64url")}`);
  add("EdDSA by the attacker's key", await new SignJWT(claims).setProtectedHeader({ alg: "EdDSA" }).sign(ed.privateKey));

  // crit and b64
  add("crit with an unknown name", signed({ alg: "HS256", crit: ["x-unknown"], "x-unknown": 1 }, claims, secret));
  add("crit b64 false, unencoded payload", `${enc({ alg: "HS256", b64: false, crit: ["b64"] })}..${hmac(`${enc({ alg: "HS256", b64: false, crit: ["b64"] })}.${JSON.stringify(claims)}`, secret)}`);
  add("crit not an array", signed({ alg: "HS256", crit: "exp" }, claims, secret));

  // other serialisations
  add("JWE compact (five segments)", `${enc({ alg: "dir", enc: "A256GCM" })}..${enc(randomBytes(12))}.${enc(randomBytes(40))}.${enc(randomBytes(16))}`);
  add("JWS JSON serialisation, general", JSON.stringify({ payload: gp, signatures: [{ protected: gh, signature: gs }] }));
  add("JWS JSON serialisation, flattened", JSON.stringify({ payload: gp, protected: gh, signature: gs }));

  // segments
  add("one segment", gp);
  add("two segments", `${gh}.${gp}`);
  add("four segments", `${good}.${gs}`);
  add("thousands of dots", `${gh}.${gp}.${gs}${".".repeat(4000)}`);
  add("empty segments", "..");

  // encoding
  add("standard base64 '+' in the payload", `${gh}.${gp.slice(0, 10)}+${gp.slice(11)}.${gs}`);
  add("standard base64 '/' in the signature", `${gh}.${gp}.${gs.slice(0, 10)}/${gs.slice(11)}`);
  add("'=' padding on the header", `${gh}=.${gp}.${gs}`);
  add("'=' padding on the signature", `${gh}.${gp}.${gs}=`);
  add("whitespace inside the token", `${gh}.${gp.slice(0, 8)} ${gp.slice(8)}.${gs}`);
  add("tab inside the token", `${gh}.${gp}\t.${gs}`);
  add("non-canonical final character of the signature", `${gh}.${gp}.${gs.slice(0, -1)}${String.fromCharCode(gs.charCodeAt(gs.length - 1) + 1)}`);
  add("segment length 1 mod 4", `${gh}.${gp}A.${gs}`);
  add("percent-encoded token", encodeURIComponent(good).replaceAll(".", "%2E"));

  // JSON structure
  const withSecret = (header: string | Buffer, payload: string | Buffer) => signed(header, payload, secret);
  add("header a JSON array", withSecret(JSON.stringify(["HS256"]), JSON.stringify(claims)));
  add("header a JSON string", withSecret('"HS256"', JSON.stringify(claims)));
  add("payload a JSON array", withSecret(JSON.stringify(hs), JSON.stringify([claims])));
  add("payload a number", withSecret(JSON.stringify(hs), "1"));
  add("payload null", withSecret(JSON.stringify(hs), "null"));
  add("payload nested 5000 deep", withSecret(JSON.stringify(hs), deep(5000)));
  add("payload nested 20 deep", withSecret(JSON.stringify(hs), deep(20)));
  add("header nested deep", withSecret(`{"alg":"HS256","x":${"[".repeat(100)}${"]".repeat(100)}}`, JSON.stringify(claims)));
  add("payload with a byte-order mark", withSecret(JSON.stringify(hs), "\ufeff" + JSON.stringify(claims)));
  add("header with a byte-order mark", withSecret("\ufeff" + JSON.stringify(hs), JSON.stringify(claims)));
  add("payload invalid UTF-8", withSecret(JSON.stringify(hs), Buffer.concat([Buffer.from('{"userId":1,"exp":' + (now + 600) + ',"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])));
  add("payload not JSON", withSecret(JSON.stringify(hs), `userId=1&canary=${canary}`));
  add("payload JSON with a trailing comma", withSecret(JSON.stringify(hs), `{"userId":1,"exp":${now + 600},}`));

  // exp, nbf, iat
  const at = (p: Record<string, unknown>) => signed(hs, { userId: 1, canary, ...p }, secret);
  add("exp missing", at({ iat: now }));
  add("exp in the past", at({ iat: now - 7200, exp: now - 3600 }));
  add("exp 0", at({ exp: 0 }));
  add("exp negative", at({ exp: -1 }));
  add("exp a string", at({ exp: String(now + 600) }));
  add("exp null", at({ exp: null }));
  add("exp 1e309", withSecret(JSON.stringify(hs), `{"userId":1,"exp":1e309,"canary":"${canary}"}`));
  add("exp in milliseconds", at({ iat: now, exp: (now + 600) * 1000 }));
  add("exp a century ahead", at({ iat: now, exp: now + 100 * 365 * 86400 }));
  add("exp a century ahead, no iat", at({ exp: now + 100 * 365 * 86400 }));
  add("exp not an integer", at({ iat: now, exp: now + 600.5 }));
  add("exp true", at({ exp: true }));
  add("nbf in the future", at({ iat: now, nbf: now + 3600, exp: now + 3700 }));
  add("iat in the future", at({ iat: now + 3600, exp: now + 3700 }));
  add("iat a string", at({ iat: String(now), exp: now + 600 }));

  // claims
  const exp = now + 600;
  add("duplicate claim names", withSecret(JSON.stringify(hs), `{"userId":2,"userId":1,"exp":${exp},"canary":"${canary}"}`));
  add("duplicate header names", withSecret(`{"alg":"none","alg":"HS256"}`, JSON.stringify(claims)));
  add("__proto__ claim carrying userId", withSecret(JSON.stringify(hs), `{"__proto__":{"userId":1},"exp":${exp},"canary":"${canary}"}`));
  add("constructor claim carrying userId", withSecret(JSON.stringify(hs), `{"constructor":{"prototype":{"userId":1}},"exp":${exp},"canary":"${canary}"}`));
  add("wrong iss", at({ iss: "https://attacker.example", exp }));
  add("wrong aud", at({ aud: "another-service", exp }));
  add("aud array", at({ aud: ["bookstore", "another"], exp }));
  add("typ of a refresh token", signed({ alg: "HS256", typ: "refresh+jwt" }, claims, secret));
  add("typ JWE", signed({ alg: "HS256", typ: "JWE" }, claims, secret));
  add("userId missing", signed(hs, { iat: now, exp, canary }, secret));
  add("userId a string", at({ userId: "1", exp }));
  add("userId 0", at({ userId: 0, exp }));
  add("userId negative", at({ userId: -1, exp }));
  add("userId fractional", at({ userId: 1.5, exp }));
  add("userId beyond 2^53", withSecret(JSON.stringify(hs), `{"userId":9007199254740993,"exp":${exp},"canary":"${canary}"}`));
  add("userId an object", at({ userId: { $gt: 0 }, exp }));
  add("jti a number", at({ jti: 5, exp }));

  // size
  add("token of 12 KB", at({ exp, pad: "x".repeat(9 * 1024) }));

  // the header itself
  add("no authorization header", undefined);
  add("authorization empty", "");
  add("authorization Basic", `Basic ${Buffer.from(`admin:${canary}`).toString("base64")}`);
  add("Bearer with no token", "Bearer");
  add("Bearer and a space", "Bearer ");
  add("two Bearer tokens", `Bearer ${validToken}, Bearer ${validToken}`);
  add("two raw tokens", `${validToken} ${validToken}`);
  add("Bearer with a comma", `Bearer,${validToken}`);
  add("Token scheme", `Token ${validToken}`);
  add("Bearer twice", `Bearer Bearer ${validToken}`);

  return t.map(([name, authorization]) => ({ name, authorization }));
}

