// Runs the bookstore under node:cluster: WORKERS worker processes sharing the same ports (the
// primary hands out connections). For the scaling goal of the benchmark.
import cluster from "node:cluster";
import { loadConfig } from "../src/config.js";
import { startBookstore } from "../src/main.js";

const workers = Number(process.env.WORKERS ?? 1);
if (cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on("message", (m) => {
      if (m === "ready" && ++ready === workers) console.log("ready");
    });
  }
  process.on("SIGTERM", () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const app = await startBookstore(loadConfig({ file: process.env.CONFIG_FILE, env: process.env }), { only: "search" });
  process.send?.("ready");
  process.on("SIGTERM", () => void app.close(0).then(() => process.exit(0)));
}
