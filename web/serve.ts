import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { buildPage } from "./build.js";

const files: Record<string, { path: string; type: string }> = {
  "/": { path: "./index.html", type: "text/html; charset=utf-8" },
  "/dist/app.js": { path: "./dist/app.js", type: "text/javascript; charset=utf-8" },
  "/dist/app.js.map": { path: "./dist/app.js.map", type: "application/json" },
};

/** Serves the page (index.html and its bundle, nothing else) on `host:port`; 0 picks a port. */
export async function startWebServer(port: number, host = "127.0.0.1"): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const file = files[new URL(req.url ?? "/", "http://x").pathname];
    if (file === undefined || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    try {
      const body = await readFile(fileURLToPath(new URL(file.path, import.meta.url)));
      res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not built: run npm run web\n");
    }
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// `npm run web`: build, then serve on http://localhost:8080 (the services must allow that origin)
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildPage();
  const web = await startWebServer(Number(process.env.WEB_PORT ?? 8080), "localhost");
  process.stderr.write(`the page is at ${web.url} (run the services with CORS_ALLOWED_ORIGINS=${web.url})\n`);
}
