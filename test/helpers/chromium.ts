/**
 * Debian's Chromium for the tests that look at pages (reports, the console, live view), driven by
 * playwright-core: headless, no sandbox (CI runs as root), nothing fetched from the network on
 * its own (updates, sync, QUIC), so a page shows only what the product serves.
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
