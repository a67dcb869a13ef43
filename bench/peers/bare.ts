// The ceiling: a bare node:http server doing the same request/response, with a raw
// node:crypto HS256 check (HMAC, constant-time compare, JSON.parse) for Do. With CHECK=none it
// answers Do without looking at the token: what the bytes of a Do cost, and nothing else.
import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";

const secret = Buffer.from(process.env.ACCESS_SECRET!, "utf8");
const body = JSON.stringify({ name: "go-zero", count: "100" });
const check = process.env.CHECK !== "none";

function verify(header: string | undefined): boolean {
  if (!header) return false;
  const token = header.startsWith("Bearer ") ? header.slice(7) : header;
  const dot2 = token.lastIndexOf(".");
  const dot1 = token.indexOf(".");
  if (dot1 <= 0 || dot2 <= dot1) return false;
  const mac = createHmac("sha256", secret).update(token.slice(0, dot2)).digest();
  const sig = Buffer.from(token.slice(dot2 + 1), "base64url");
  if (sig.length !== mac.length || !timingSafeEqual(sig, mac)) return false;
  const claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), "base64url").toString()) as { exp?: number; userId?: number };
  return typeof claims.exp === "number" && claims.exp > Date.now() / 1000 && typeof claims.userId === "number";
}

http
  .createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      JSON.parse(Buffer.concat(chunks).toString() || "{}");
      if (req.url === "/search.v1.SearchService/Do") {
        if (check && !verify(req.headers.authorization)) {
          res.writeHead(401, { "content-type": "application/json" });
          res.end('{"code":"unauthenticated","message":"invalid or missing access token"}');
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(body);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  })
  .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"));
