/** The `bookstore` command as compiled JavaScript (`node dist/run.js`): what the container runs. */
import { main } from "./cli.js";

process.exitCode = await main(process.argv.slice(2));
