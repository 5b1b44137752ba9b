// Headless Chromium for the dashboard's tests and benchmark, driven by puppeteer-core: launching
// Debian's `chromium` ($CHROMIUM overrides), reading the page through small typed evaluations, an
// axe-core accessibility check, and screenshots into one temp dir per run.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { z } from 'zod';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI containers cannot use Chromium's sandbox; the page is our own, on loopback.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--window-size=1280,900'],
    defaultViewport: { width: 1280, height: 900 },
  });
}

/** textContent of the first match, or null when nothing matches. */
export async function textOf(page: Page, selector: string): Promise<string | null> {
  const v: unknown = await page.evaluate(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? null`);
  return z.string().nullable().parse(v);
}

/** Waits until the first match's text satisfies `re`; the error shows the last text seen. */
export async function waitForText(page: Page, selector: string, re: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    last = await textOf(page, selector);
    if (last !== null && re.test(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${selector} to match ${re}; last text: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Empties a text input the way a user does (select all, delete), so the page hears an input event. */
export async function clearInput(page: Page, selector: string): Promise<void> {
  await page.click(selector, { count: 3 });
  await page.keyboard.press('Backspace');
}

const AxeResultsSchema = z.object({
  violations: z.array(
    z.object({
      id: z.string(),
      impact: z.string().nullable().optional(),
      help: z.string(),
      nodes: z.array(z.object({ target: z.array(z.unknown()) })),
    }),
  ),
});
export type AxeViolation = z.infer<typeof AxeResultsSchema>['violations'][number];

let axeSource: string | undefined;

/** Runs axe-core on the page as it is now; returns the serious and critical violations. */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if ((await page.evaluate('typeof window.axe')) !== 'object') await page.addScriptTag({ content: axeSource });
  const results = AxeResultsSchema.parse(await page.evaluate('axe.run(document, { resultTypes: ["violations"] })'));
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function describeViolations(vs: AxeViolation[]): string {
  return vs.map((v) => `${v.impact ?? ''} ${v.id}: ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`).join('\n');
}

export class Screenshots {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'cell-dashboard-screenshots-'));
  private n = 0;

  async take(page: Page, name: string): Promise<string> {
    const file = path.join(this.dir, `${String(++this.n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file as `${string}.png`, fullPage: true });
    return file;
  }
}
