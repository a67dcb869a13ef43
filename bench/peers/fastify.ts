// Fastify 5 + @fastify/jwt (HS256, fast-jwt underneath) serving the same requests and responses.
import fastifyJwt from "@fastify/jwt";
import Fastify from "fastify";

const app = Fastify({ logger: false });
await app.register(fastifyJwt, { secret: process.env.ACCESS_SECRET!, verify: { algorithms: ["HS256"] } });
app.post("/search.v1.SearchService/Do", async (req, reply) => {
  try {
    await req.jwtVerify();
  } catch {
    return reply.code(401).send({ code: "unauthenticated", message: "invalid or missing access token" });
  }
  return { name: (req.body as { name: string }).name, count: "100" };
});
app.post("/search.v1.SearchService/Ping", async () => ({}));
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
console.log("ready");
