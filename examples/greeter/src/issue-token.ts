// Mints a development token with the server's secret:
//   npx tsx src/issue-token.ts <name> [role ...]     e.g.  npx tsx src/issue-token.ts ada admin
import { createGreeterTokens } from "./server.js";

const [name = "dev", ...roles] = process.argv.slice(2);
const tokens = await createGreeterTokens();
const { token } = await tokens.issue({ name, roles });
console.log(token);
