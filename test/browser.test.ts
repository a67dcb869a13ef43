import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { buildPage } from "../web/build.js";
import { startWebServer } from "../web/serve.js";
import { addTestUsers, manualClock, startTestApp, tempDir, testConfig } from "./harness.js";

/** Debian's chromium (CI installs it); CHROMIUM names another. */
function findChromium(): string | undefined {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const executablePath = findChromium();
// CI sets REQUIRE_BROWSER: there a missing Chromium fails the suite instead of skipping it
const skip = executablePath === undefined && process.env.REQUIRE_BROWSER !== "1" && "Chromium is not installed (apt-get install chromium, or set CHROMIUM)";

describe("the browser page, in headless Chromium, cross-origin over Connect and gRPC-Web", { skip }, () => {
  const dir = tempDir();
  const clock = manualClock();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let web: Awaited<ReturnType<typeof startWebServer>>;
  let browser: Browser;
  before(async () => {
    assert.ok(executablePath, "REQUIRE_BROWSER is set but no Chromium was found");
    await buildPage();
    web = await startWebServer(0);
    const config = { ...testConfig(dir.path, { accessExpire: 900 }), cors: { allowedOrigins: [web.url] } };
    await addTestUsers(config, "erin");
    app = await startTestApp(config, { clock });
    browser = await chromium.launch({
      executablePath,
      // root needs --no-sandbox; the rest keeps Chromium off this machine's closed network
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await web?.close();
    dir.remove();
  });

  const open = async (protocol: string): Promise<Page> => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${web.url}/?user=${encodeURIComponent(app.userUrl)}&search=${encodeURIComponent(app.searchUrl)}&protocol=${protocol}`);
    assert.deepEqual(errors, []);
    return page;
  };
  const status = (page: Page) => page.locator("#status").textContent();
  /** Waits until the status line or the result matches `pattern` (evaluated in the page). */
  const settled = async (page: Page, pattern: RegExp) => {
    const text = (id: string) => `(document.getElementById(${JSON.stringify(id)}).textContent ?? "")`;
    await page.waitForFunction(`${pattern}.test(${text("status")}) || ${pattern}.test(${text("result")})`, undefined, { timeout: 10_000 });
  };

  for (const protocol of ["connect", "grpcweb"]) {
    test(`${protocol}: a search without a token shows why, then log in, search, an expired token is renewed, log out`, async () => {
      const page = await open(protocol);
      try {
        await page.click("#search button");
        await settled(page, /unauthenticated/);
        assert.equal(await status(page), "unauthenticated: invalid or missing access token (TOKEN_MISSING)");

        await page.fill("#username", "erin");
        await page.fill("#password", "wrong");
        await page.click("#login button");
        // the status still says TOKEN_MISSING until the login's answer replaces it
        await settled(page, /invalid username or password/);
        assert.equal(await status(page), "unauthenticated: invalid username or password");

        await page.fill("#password", "erin-password");
        await page.click("#login button");
        await settled(page, /logged in/);
        assert.equal(await page.locator("#who").textContent(), "logged in as erin");

        await page.click("#search button");
        await settled(page, /in stock/);
        assert.equal(await page.locator("#result").textContent(), "go-zero: 100 in stock");

        clock.advance((900 + 31) * 1000); // the access token expires on the server
        await page.fill("#name", "nothing");
        await page.click("#search button");
        await settled(page, /nothing: 0 in stock/);
        assert.equal(await status(page), "access token renewed", "protogate's client interceptor refreshed it and retried");
        // the README's picture: BROWSER_SCREENSHOT=docs/browser.png node --import tsx --test test/browser.test.ts
        if (protocol === "connect" && process.env.BROWSER_SCREENSHOT) await page.screenshot({ path: process.env.BROWSER_SCREENSHOT });

        await page.click("#logout");
        await settled(page, /logged out/);
        await page.click("#search button");
        await settled(page, /TOKEN_MISSING/);
      } finally {
        await page.close();
      }
    });
  }

  test("the page is only served to what its origin is allowed: another origin's calls are refused by CORS", async () => {
    const other = await startWebServer(0); // same page, an origin the services do not list
    const page = await browser.newPage();
    try {
      await page.goto(`${other.url}/?user=${encodeURIComponent(app.userUrl)}&search=${encodeURIComponent(app.searchUrl)}`);
      await page.fill("#username", "erin");
      await page.fill("#password", "erin-password");
      await page.click("#login button");
      await settled(page, /unavailable|unknown|internal|failed/i);
      assert.doesNotMatch((await status(page)) ?? "", /logged in/);
    } finally {
      await page.close();
      await other.close();
    }
  });
});
