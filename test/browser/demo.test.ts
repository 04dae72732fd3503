// The demo page in real Chromium (Debian's /usr/bin/chromium driven by playwright-core; never a
// downloaded browser): loaded over http and from file://, the default scenario run (every device
// PASSes), freebsd-legacy's misrouted 32-message block, a migration stepped by hand with a message
// injected mid-move, the validation message, the playground and the trace download. A screenshot of
// each page state goes to test-results/browser/. Without Chromium the tests are skipped with a
// message — unless CI=true, where a missing browser is a failure.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { buildDemo, serveDemo } from '../../scripts/build-demo.mjs';

const CHROMIUM = process.env.IRQSLICE_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const shots = path.join(root, 'test-results', 'browser');

if (!available && process.env.CI !== 'true') {
  console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set IRQSLICE_CHROMIUM; with CI=true this is a failure)`);
}

describe.runIf(!available && process.env.CI === 'true')('browser demo (CI)', () => {
  it('has Chromium to run in', () => {
    throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}: .ci/run installs it with apt-get install chromium`);
  });
});

describe.runIf(available)('the demo page in Chromium', () => {
  let context: BrowserContext;
  let server: Server;
  let httpUrl: string;
  let fileUrl: string;
  let profile: string;

  beforeAll(async () => {
    const file = await buildDemo();
    fileUrl = pathToFileURL(file).href;
    ({ server, url: httpUrl } = await serveDemo(file, 0));
    mkdirSync(shots, { recursive: true });
    profile = mkdtempSync(path.join(tmpdir(), 'irqslice-chromium-'));
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** A fresh tab on `url` with the page's own errors collected; waits until the page has set itself up. */
  async function open(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    // Offline: the page may fetch nothing but itself.
    await page.route('**/*', (route) => (route.request().url().startsWith(httpUrl) || route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]');
    return { page, errors };
  }

  async function runAndWait(page: Page): Promise<string> {
    const before = await page.evaluate(() => document.body.dataset.ran ?? '');
    await page.click('#run');
    await page.waitForFunction((b) => (document.body.dataset.ran ?? '') !== b || document.querySelector('#status.fail') !== null, before, { timeout: 30_000 });
    return (await page.textContent('#status')) ?? '';
  }

  it('over http: the default scenario boots, every device row PASSes, and the trace downloads', async () => {
    const { page, errors } = await open(httpUrl);
    const status = await runAndWait(page);
    expect(status).toMatch(/^PASS/);
    expect(status).toContain('(worker)');
    const rows = await page.$$eval('#devices tr', (trs) => trs.map((tr) => [tr.getAttribute('data-bdf'), tr.getAttribute('data-result'), tr.querySelectorAll('.msg.delivered').length]));
    // DEFAULT_SCENARIO: MSI devices with 32, 16, 8 and 1 messages, each one aligned block under 'aligned'.
    expect(rows).toEqual([
      ['00:03.0', 'PASS', 32],
      ['00:04.0', 'PASS', 16],
      ['00:05.0', 'PASS', 8],
      ['00:06.0', 'PASS', 1],
    ]);
    expect(await page.textContent('#proc-interrupts')).toMatch(/CPU/);
    expect(await page.textContent('#debugfs')).toMatch(/Online bitmaps/);
    const size = await page.$eval('#heatmap', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    expect(size[0]).toBeGreaterThan(200);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#trace-download')]);
    const trace = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { traceEvents: { cat?: string }[]; displayTimeUnit: string };
    expect(trace.displayTimeUnit).toBe('ns');
    expect(trace.traceEvents.filter((e) => e.cat === 'msi').length).toBe(32 + 16 + 8 + 1);
    await page.screenshot({ path: path.join(shots, 'default-http.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('from file://: freebsd-legacy misroutes every message of the 32-message block', async () => {
    const { page, errors } = await open(fileUrl);
    await page.selectOption('#example', 'freebsd-misroute.json');
    await page.selectOption('#policy', 'freebsd-legacy');
    const status = await runAndWait(page);
    expect(status).toMatch(/^FAIL/);
    expect(status).toContain('(worker)'); // the inlined worker starts from file:// too
    expect(await page.textContent('#heatmap-title')).toContain("FreeBSD's per-CPU");
    const row = (bdf: string) =>
      page.$$eval(`#devices tr[data-bdf="${bdf}"] .msg`, (cells) => cells.map((c) => [c.getAttribute('data-state'), c.getAttribute('title')]));
    // The block starts at table index 0 (IDT 0x30): index-aligned, not vector-aligned. A device with
    // MME = 5 replaces data bits 4:0 with the message number (PCI MSI), so message i carries
    // (0x30 & ~0x1f) | i = 0x20 + i: every message lands on a vector other than its own.
    const big = await row('00:03.0');
    expect(big.length).toBe(32);
    expect(big.every(([s]) => s === 'misrouted')).toBe(true);
    expect(big[0]![1]).toContain('arrived on CPU 0 0x20');
    expect(big[31]![1]).toContain('arrived on CPU 0 0x3f');
    expect(await page.getAttribute('#devices tr[data-bdf="00:03.0"]', 'data-result')).toBe('FAIL');
    // The 16-block at 0x30 happens to be 16-aligned as an IDT vector too: delivered.
    const small = await row('00:04.0');
    expect(small.map(([s]) => s)).toEqual(new Array(16).fill('delivered'));
    await page.screenshot({ path: path.join(shots, 'freebsd-legacy-file.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('steps a migration and shows where a message injected mid-move lands', async () => {
    const { page, errors } = await open(fileUrl);
    const inject = async (protocol: string) => {
      await page.selectOption('#mig-protocol', protocol);
      await page.selectOption('#mig-block', '4');
      await page.click('#mig-reset');
      // Four guest steps: handlers installed, Message Control, the address (now CPU 2), the upper address.
      for (let i = 0; i < 4; i++) await page.click('#mig-step');
      await page.selectOption('#mig-fire-index', '0');
      await page.click('#mig-fire');
      await page.click('#mig-run');
      return page.$eval('#mig-fires tr[data-index="0"]', (tr) => [tr.getAttribute('data-fate'), tr.querySelector('.where')!.textContent]);
    };
    // naive: the address already names CPU 2, the data still the old base 0x20 — which CPU 2 gives to
    // another driver (nbB): misrouted.
    expect(await inject('naive')).toEqual(['misrouted', 'CPU 2 0x20 → nbB']);
    await page.screenshot({ path: path.join(shots, 'migration-naive.png'), fullPage: true });
    // safe keeps the message its own handler whatever the step it falls between.
    const safe = await inject('safe');
    expect(safe[0]).toBe('delivered');
    expect(safe[1]).toMatch(/^CPU [12] 0x2[0-7] → 00:03\.0/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('names the bad field of an invalid scenario, and runs a matrix script', async () => {
    const { page, errors } = await open(httpUrl);
    await page.fill('#scenario', '{"cpus": 2, "devices": [{"bdf": "00:03.0", "msi": {"vectors": 3}}]}');
    expect(await page.isVisible('#scenario-error')).toBe(true);
    expect(await page.textContent('#scenario-error')).toMatch(/^devices\[0\]\.msi\.vectors: must be a power of two/);
    await page.click('#pg-run');
    const out = (await page.textContent('#pg-output')) ?? '';
    const lines = out.trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    await page.screenshot({ path: path.join(shots, 'validation-playground.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
