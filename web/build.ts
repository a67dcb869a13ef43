import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** Where the page's bundle goes (ignored by git): `web/dist/app.js`. */
export const bundleFile = fileURLToPath(new URL("./dist/app.js", import.meta.url));

/** Bundles `web/app.ts` with the generated clients, connect-web and protogate/client for browsers. */
export async function buildPage(): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL("./app.ts", import.meta.url))],
    outfile: bundleFile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    logLevel: "silent",
  });
}
