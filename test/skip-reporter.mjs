// A node:test reporter that writes one JSON line per skipped test or suite (file, name, reason),
// for scripts/run-tests.ts to sum up once the run is over. Plain JavaScript: the runner's own
// process loads reporters, and it has no TypeScript loader.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { skip, file, name } = event.data;
    if (skip === undefined || skip === false) continue;
    yield `${JSON.stringify({ file, name, reason: typeof skip === "string" ? skip : "no reason given" })}\n`;
  }
}
