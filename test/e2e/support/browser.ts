// Headless Chromium for the browser tests: Debian's package driven by playwright-core
// (.ci/run installs it; a test without it is skipped, saying why). Screenshots of the web
// app are taken on every run into a temporary folder, and copied to the folder named by
// IMGSIM_SCREENSHOTS (`IMGSIM_SCREENSHOTS=docs/images npm test` refreshes the README's).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../../support/cli.js';

export const CHROMIUM = '/usr/bin/chromium';

/** false, or why the browser tests are skipped. */
export function browserSkip(): false | string {
  if (!existsSync(CHROMIUM)) return 'Chromium not installed (apt-get install chromium)';
  return false;
}

/** The web app must be built (npm test's pretest builds it). */
export function requireWebBuild(): void {
  if (!existsSync(path.join(ROOT, 'dist', 'web', 'index.html'))) throw new Error('dist/web/index.html is missing: run npm run build (npm test does it first)');
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A screenshot of the page as `<name>.png` in IMGSIM_SCREENSHOTS (when set). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.IMGSIM_SCREENSHOTS;
  if (!dir) return;
  const out = path.resolve(ROOT, dir);
  mkdirSync(out, { recursive: true });
  await page.screenshot({ path: path.join(out, `${name}.png`), animations: 'disabled' }); // transitions shown at their end
}

/** The page's document, as the browser evaluates it (tests are type-checked without the DOM library). */
declare const document: { querySelectorAll(selector: string): Iterable<{ complete: boolean; naturalWidth: number }> };

/** Every image of the page matched by `selector` has decoded (naturalWidth > 0), waiting up to `ms`. */
export async function imagesDecoded(page: Page, selector: string, ms = 15_000): Promise<number> {
  await page.waitForFunction(
    (sel) => {
      const imgs = [...document.querySelectorAll(sel)];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    },
    selector,
    { timeout: ms },
  );
  return page.locator(selector).count();
}
