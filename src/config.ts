/**
 * The configuration: declared once per section in `src/config/` (YAML key, environment
 * variable, default, bounds, meaning), from which the {@link Config} type, the defaults, the
 * environment list, the usage text and `etc/bookstore.schema.json` are derived.
 */
export { type Config } from "./config/declaration.js";
export { ConfigError, defaultConfig, loadConfig } from "./config/load.js";
export { envOverrides, settingName } from "./config/settings.js";
export { environmentUsage } from "./config/docs.js";
