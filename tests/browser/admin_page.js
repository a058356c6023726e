// The operator page in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core):
// sign in with the operator token, find an order's event history, see a dead-lettered message
// with its reason, replay it by clicking (and confirming), and see it applied: it leaves the DLQ
// and the order's history gains the events it caused. Any console error or CSP violation fails.
// Started by admin_page_rmqtest.cpp, which runs the service and the broker and made the poison
// message. Exit code 0: passed; 1: failed (the reason on stderr).
//
// node admin_page.js --url http://127.0.0.1:PORT --token JWT --order-id ID --message-id MID
//   --reason TEXT --expect-event TYPE --screenshots DIR
'use strict';

const path = require('node:path');
const fs = require('node:fs');
const { chromium } = require('playwright-core');

function options(argv) {
  const out = {};
  for (let i = 2; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const name of ['url', 'token', 'order-id', 'message-id', 'reason', 'expect-event', 'screenshots']) {
    if (!out[name]) throw new Error(`--${name} is required`);
  }
  return out;
}

async function main() {
  const o = options(process.argv);
  fs.mkdirSync(o.screenshots, { recursive: true });
  const shot = (page, name) => page.screenshot({ path: path.join(o.screenshots, name), fullPage: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking'],
    headless: true,
  });
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

    const response = await page.goto(`${o.url}/admin`);
    const csp = response.headers()['content-security-policy'] || '';
    if (!csp.includes("script-src 'self'") || !csp.includes("frame-ancestors 'none'")) {
      throw new Error(`the page's Content-Security-Policy is not strict: '${csp}'`);
    }

    // 1. Sign in with the operator token.
    await page.fill('#token-input', o.token);
    await page.click('#token-submit');
    await page.locator('#relay [data-field="state"]').getByText('connected').waitFor();
    const stored = await page.evaluate(() => sessionStorage.getItem('order-service.operator-token'));
    if (stored !== o.token) throw new Error('the token is not kept in sessionStorage');
    if ((await context.cookies()).length !== 0) throw new Error('the page set a cookie');

    // 2. The order's event history: every event, with its sequence, time and trace id.
    await page.fill('#order-id', o['order-id']);
    await page.click('#order-show');
    await page.locator('#events tbody tr[data-message-type="OrderCreatedEvent"]').waitFor();
    const before = await page.locator('#events tbody tr').count();
    const firstTrace = (await page.locator('#events tbody tr').first().locator('td').nth(4).textContent()).trim();
    if (!/^[0-9a-f]{32}$/.test(firstTrace)) throw new Error(`no trace id in the history: '${firstTrace}'`);

    // 3. The dead-lettered message, with its reason, in its failure group.
    const row = page.locator(`tr[data-message-id="${o['message-id']}"]`);
    await row.waitFor();
    const reason = (await row.locator('.failure-reason').textContent()) || '';
    if (!reason.includes(o.reason)) throw new Error(`the row shows '${reason}', not the reason '${o.reason}'`);
    const group = page.locator('.group', { hasText: o.reason });
    if ((await group.count()) !== 1) throw new Error('the message is in no failure group on the page');
    await shot(page, 'admin-overview.png');

    // 4. Replay it by clicking, and confirm.
    await row.locator('button.replay').click();
    await page.locator('#confirm').waitFor({ state: 'visible' });
    await shot(page, 'admin-replay-confirm.png');
    await page.click('#confirm-ok');

    // 5. Applied: it leaves the DLQ, and the order's history has the events it caused.
    await page.locator('#dlq-status').getByText('Replayed 1 message(s)').waitFor();
    await row.waitFor({ state: 'detached' });
    await page.locator(`#events tbody tr[data-message-type="${o['expect-event']}"]`).first().waitFor();
    const after = await page.locator('#events tbody tr').count();
    if (after <= before) throw new Error(`the history did not grow (${before} -> ${after} events)`);
    await shot(page, 'admin-after-replay.png');

    // 6. The same page on a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'admin-phone.png');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    if (overflow) throw new Error('the page is wider than a phone screen');
  } finally {
    await browser.close();
  }
  if (problems.length) throw new Error(problems.join('\n'));
  console.log('admin_page.js: passed');
}

main().catch((error) => {
  console.error(`admin_page.js: ${error.stack || error}`);
  process.exit(1);
});
