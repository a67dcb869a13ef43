/**
 * The old home of the wiring, kept for the tests, benches and scripts that import it: opening
 * storage is `wiring/storage.ts`, the app's resources `wiring/app.ts`, background jobs
 * `wiring/jobs.ts`. Nothing in `src/` imports this file.
 */
import type { Config } from "./config.js";
import { openServiceContext, type ServiceContext, type ServiceContextOptions } from "./wiring/app.js";
import { startBackgroundJobs } from "./wiring/jobs.js";

export { openStorage, type StorageContext, type StorageOptions } from "./wiring/storage.js";
export { openServiceContext, type Revocations, type ServiceContext, type ServiceContextOptions } from "./wiring/app.js";

/**
 * The app's resources with their background jobs running, as one thing to close (the jobs
 * stop first): for tests and tools that use the app without its ports. A server starts them
 * in `startBookstore` instead.
 */
export async function createServiceContext(config: Config, options: ServiceContextOptions = {}): Promise<ServiceContext> {
  const resources = await openServiceContext(config, options);
  const stopJobs = startBackgroundJobs(resources);
  return {
    ...resources,
    close() {
      stopJobs();
      return resources.close();
    },
  };
}
