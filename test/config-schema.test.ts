import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
// ajv comes with fastify (a devDependency); it is the validator editors' schemas are written for
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse as parseYaml } from "yaml";
import { ConfigError, defaultConfig, envOverrides, loadConfig } from "../src/config.js";
import { settingsTable, tableBegin, tableEnd, withSettingsTable } from "../src/config/docs.js";
import { configJsonSchema, configJsonSchemaText, schemaFile } from "../src/config/json-schema.js";
import { settings } from "../src/config/settings.js";
import { runBookstore, tempDir } from "./harness.js";

const regenerate = "run: npm run config:schema (node --import tsx src/config/generate.ts)";
const dir = tempDir();
after(() => dir.remove());
let temps = 0;
function writeTemp(text: string): string {
  const path = join(dir.path, `${temps++}.yaml`);
  writeFileSync(path, text);
  return path;
}
const yamlFiles = readdirSync("etc").filter((f) => f.endsWith(".yaml")).map((f) => `etc/${f}`);

describe("what is derived from the config declarations", () => {
  test("etc/bookstore.schema.json is the schema the declarations give", () => {
    assert.equal(readFileSync(schemaFile, "utf8"), configJsonSchemaText(), `${schemaFile} is stale; ${regenerate}`);
  });

  test("the README's settings table is the one the declarations give", () => {
    const readme = readFileSync("README.md", "utf8");
    assert.ok(readme.includes(`${tableBegin}\n${settingsTable()}\n${tableEnd}`), `README.md's settings table is stale; ${regenerate}`);
    assert.equal(withSettingsTable(readme), readme);
  });

  test("every etc/*.yaml names the schema on its first line", () => {
    assert.ok(yamlFiles.length >= 2);
    for (const file of yamlFiles) {
      assert.equal(readFileSync(file, "utf8").split("\n")[0], "# yaml-language-server: $schema=./bookstore.schema.json", file);
    }
  });

  test("every default passes its own check, and the defaults are the embedded config", () => {
    for (const { path, name, field } of settings) {
      assert.deepEqual(field.read(field.default), field.default, name);
      assert.deepEqual(path.reduce<any>((o, k) => o[k], defaultConfig), field.default, name);
    }
    assert.equal(settings.length, Object.values(defaultConfig).reduce<number>((n, v) => n + (typeof v === "object" && !Array.isArray(v) ? Object.keys(v).length : 1), 0));
  });

  test("bookstore help lists every environment variable the loader reads", async () => {
    const { code, stdout } = await runBookstore(["help"]);
    assert.equal(code, 0);
    const listed = stdout.slice(stdout.indexOf("environment:")).split(/\s+/);
    for (const name of Object.keys(envOverrides)) assert.ok(listed.includes(name), name);
  });
});

describe("the JSON Schema", () => {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
  const validate = ajv.compile(configJsonSchema());
  const valid = (yaml: string) => validate(parseYaml(yaml) ?? {});
  const loads = (yaml: string, env: Record<string, string> = {}) => {
    try {
      loadConfig({ file: writeTemp(yaml), env });
      return true;
    } catch (err) {
      if (err instanceof ConfigError) return false;
      throw err;
    }
  };

  test("accepts etc/*.yaml", () => {
    for (const file of yamlFiles) assert.ok(validate(parseYaml(readFileSync(file, "utf8"))), `${file}: ${ajv.errorsText(validate.errors)}`);
  });

  test("agrees with the loader on what a value may be", () => {
    const env = { PORT: "9000", ON: "true", ALG: "ES256" };
    const cases = [
      "User:\n  Port: 9000\n",
      "User:\n  Port: 70000\n",
      "User:\n  Port: -1\n",
      "User:\n  Port: 1.5\n",
      "User:\n  Port: ${PORT}\n",
      "User:\n  Port: ${PORT:-9000}\n",
      "User:\n  Port: nine\n",
      "User:\n  Nope: 1\n",
      "Nope: 1\n",
      "User:\n",
      "Auth:\n  AccessSecret:\n",
      "Auth:\n  Algorithm: ES256\n",
      "Auth:\n  Algorithm: HS512\n",
      "Auth:\n  Algorithm: ${ALG}\n",
      "Auth:\n  RevocationFailOpen: true\n",
      "Auth:\n  RevocationFailOpen: ${ON}\n",
      "Auth:\n  RevocationFailOpen: yes please\n",
      "Auth:\n  VerifyKeyFiles: [a.pem, b.pem]\n",
      "Auth:\n  VerifyKeyFiles: ['']\n",
      "Auth:\n  VerifyKeyFiles: [1]\n",
      "Auth:\n  JwksUrl: https://keys.example.com/jwks.json\n",
      "Auth:\n  JwksUrl: ftp://keys\n",
      "Auth:\n  JwksUrl: ''\n",
      "Database:\n  DataSource: sqlite:x.db\n",
      "Database:\n  DataSource: postgres://h/db\n",
      "CacheRedis:\n  Url: rediss://cache:6380/0\n",
      "CacheRedis:\n  Url: http://cache\n",
      "CacheRedis:\n  Type: ring\n",
      "Cors:\n  AllowedOrigins: ['https://app.example.com', '*']\n",
      "Cors:\n  AllowedOrigins: ['https://app.example.com/path']\n",
      "Log:\n  Level: trace\n",
      "Log:\n  Level: loud\n",
      "Limits:\n  MaxHeaderBytes: 1024\n",
      "CertFile: cert.pem\nKeyFile: key.pem\n",
      "Limits: 5\n",
    ];
    for (const yaml of cases) assert.equal(valid(yaml), loads(yaml, env), `${JSON.stringify(yaml)}: schema ${valid(yaml)}`);
  });
});
