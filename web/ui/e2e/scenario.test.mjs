// End-to-end: the DataVault story in a real browser against a real
// tracehound serving a seeded store (run.sh starts both). The steps share
// one signed-in page and run in order; each saves a screenshot.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launch, login, newPage, shot } from './browser.mjs';

const attackers = ['104.248.73.19', '167.71.205.88', '178.128.44.156'];
const question = 'Show all requests to /admin/export in the last 7 days';

let browser, page, errors;

before(async () => {
  browser = await launch();
  ({ page, errors } = await newPage(browser));
  await login(page);
});

after(async () => {
  await browser?.close();
});

describe('the DataVault story', { concurrency: 1 }, () => {
  test('overview shows traffic, notifications and the riskiest endpoints', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const risky = page.getByRole('region', { name: 'Riskiest endpoints' });
    await risky.getByRole('link', { name: 'GET /v1/admin/export' }).waitFor({ timeout: 30_000 });
    await page.getByRole('img', { name: /^Requests per day/ }).waitFor();
    await shot(page, '01-overview');
  });

  test('the API map shows GET /v1/admin/export as a shadow endpoint', async () => {
    await page.goto('/map');
    await page.getByRole('radio', { name: 'Shadow' }).click();
    const circle = page.locator('circle[data-endpoint="GET /v1/admin/export"]');
    await circle.waitFor({ timeout: 30_000 });
    assert.match(page.url(), /only=shadow/);
    // Every circle left is a shadow endpoint.
    const kinds = await page.locator('circle[data-kind="endpoint"]').evaluateAll((cs) => cs.map((c) => c.getAttribute('class')));
    assert.ok(kinds.length >= 1 && kinds.every((k) => k.includes('pk-shadow')), `endpoint circles under the shadow filter: ${kinds}`);
    await circle.click();
    const panel = page.getByRole('complementary', { name: 'Endpoint GET /v1/admin/export' });
    await panel.waitFor();
    await panel.getByText(/^shadow/).first().waitFor();
    const callers = await panel.getByRole('table', { name: 'Top calling IPs' }).locator('tbody tr td:first-child').allTextContents();
    assert.deepEqual([...callers].sort(), [...attackers].sort(), 'the callers of the shadow endpoint are the three attacker addresses');
    assert.match(page.url(), /ep=[0-9a-f]+/);
    await shot(page, '02-map-shadow-endpoint');
  });

  test('the endpoint table lists the map with filters', async () => {
    await page.goto('/map?view=table&sort=hits');
    const table = page.getByRole('table', { name: 'Endpoints' });
    await table.getByRole('row').nth(2).waitFor();
    await shot(page, '03-map-table');
    await page.goto('/map');
    await page.locator('svg.pack circle[data-kind="endpoint"]').first().waitFor();
    await shot(page, '03-map-pack');
  });

  test('a notification is triaged to investigating, then resolved', async () => {
    await page.goto('/notifications');
    const row = page.locator('li.ntf').first();
    await row.waitFor({ timeout: 90_000 }); // the rules evaluate on a schedule after the server starts
    assert.equal(await row.getAttribute('data-status'), 'open');
    await shot(page, '04-notifications');
    // Keyboard: j moves the cursor to a notification, i marks it
    // investigating. The queue polls, so take the id from the cursor once
    // it is there, not from the list before the key press.
    await page.locator('body').press('j');
    const cursor = page.locator('li.ntf.ntf-cursor');
    await cursor.waitFor();
    const id = await cursor.getAttribute('data-id');
    await page.keyboard.press('i');
    await page.locator(`li.ntf[data-id="${id}"][data-status="investigating"]`).waitFor();
    // Open it and resolve it from the panel.
    await page.locator(`li.ntf[data-id="${id}"] .ntf-main`).click();
    const panel = page.getByRole('complementary', { name: `Notification ${id}` });
    await panel.getByRole('button', { name: 'Resolve' }).click();
    await panel.locator('.badge-st-resolved').waitFor();
    const trail = await panel.locator('.timeline').innerText();
    assert.match(trail, /open → investigating/);
    assert.match(trail, /investigating → resolved/);
    // Resolved notifications leave the default queue.
    await page.locator(`li.ntf[data-id="${id}"]`).waitFor({ state: 'detached' });
    await shot(page, '05-notification-resolved');
  });

  test('the three attacker IPs are selected in the IP table and blocked', async () => {
    // Track the busiest client addresses, as an analyst would first.
    await page.goto('/ips');
    await page.getByRole('button', { name: 'Track addresses…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Track addresses' });
    await dialog.getByLabel('How many').fill('300');
    await dialog.getByRole('button', { name: 'Track' }).click();
    await page.getByText(/addresses tracked and enriched/).waitFor({ timeout: 60_000 });
    // From the shadow endpoint's panel: investigate its callers.
    await page.goto('/map?only=shadow');
    await page.locator('circle[data-endpoint="GET /v1/admin/export"]').click();
    await page.getByRole('button', { name: /Investigate these 3 callers/ }).click();
    await page.getByRole('button', { name: 'Open in IPs' }).click();
    await page.waitForURL(/\/ips\?tag=/);
    const table = page.getByRole('table', { name: 'Monitored IPs' });
    for (const ip of attackers) await table.getByRole('link', { name: ip, exact: true }).waitFor();
    assert.equal(await table.locator('.vbody [role=row]').count(), 3, 'the tag filter keeps the three callers');
    await shot(page, '06-ips-callers');
    for (const ip of attackers) await table.getByLabel(`Select ${ip}`).check();
    await page.getByRole('toolbar', { name: 'Batch actions' }).getByText('3 selected').waitFor();
    await page.getByRole('button', { name: 'Block…' }).click();
    const block = page.getByRole('dialog', { name: 'Block 3 addresses' });
    await block.getByLabel(/Reason/).fill('exfiltration through GET /v1/admin/export');
    await block.getByRole('button', { name: 'Block', exact: true }).click();
    await page.getByText('3 blocked').waitFor();
    for (const ip of attackers) {
      await table.getByRole('row').filter({ has: page.getByRole('link', { name: ip, exact: true }) }).locator('.badge-ip-blocked').waitFor();
    }
    // The whole table holds the tracked addresses; the blocklist holds the three.
    await page.goto('/ips?sort=bytes&desc=1');
    await table.locator('.vbody [role=row]').nth(10).waitFor();
    const total = await page.getByRole('toolbar', { name: 'Batch actions' }).innerText();
    assert.match(total, /\d+ addresses/);
    await shot(page, '07-ips');
    await page.getByRole('button', { name: 'Blocklist export…' }).click();
    const exp = page.getByRole('dialog', { name: 'Blocklist export' });
    const text = await exp.locator('pre').innerText();
    for (const ip of attackers) assert.ok(text.includes(ip), `blocklist has ${ip}:\n${text}`);
    await shot(page, '08-blocklist');
    await exp.getByRole('button', { name: 'Close' }).click();
    await page.goto(`/ips?ip=${attackers[0]}`);
    await page.getByRole('complementary', { name: `IP ${attackers[0]}` }).getByText('effective: blocked').waitFor();
    await shot(page, '09-ip-detail');
  });

  test('the forensic question shows its SQL, rows and per-day timeline', async () => {
    await page.goto('/forensics');
    await page.getByRole('textbox', { name: 'Question' }).fill(question);
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    await page.getByText('List requests, on /v1/admin/export, last 7 days').waitFor({ timeout: 30_000 });
    const sql = await page.getByLabel('SQL', { exact: true }).innerText();
    assert.match(sql, /FROM traces/);
    const chart = page.getByRole('img', { name: /^requests per day/ });
    const label = await chart.getAttribute('aria-label');
    const perDay = [...label.matchAll(/ (\d+)(?=,|$)/g)].map((m) => Number(m[1]));
    assert.ok(perDay.length >= 4, `timeline has ${perDay.length} days: ${label}`);
    assert.equal(perDay.reduce((a, b) => a + b, 0), 14603, `the timeline adds up to the campaign's 14,603 requests: ${label}`);
    const rows = page.getByRole('table', { name: 'Query results' }).locator('.vbody [role=row]');
    await rows.first().waitFor();
    assert.ok(await rows.count() > 5, 'result rows are shown');
    assert.match(await rows.first().innerText(), /\/v1\/admin\/export/);
    assert.match(page.url(), /q=Show\+all\+requests/);
    await shot(page, '10-forensics');
    await page.getByRole('tab', { name: 'SQL console' }).click();
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('table', { name: 'Query results' }).locator('.vbody [role=row]').first().waitFor();
    await shot(page, '11-sql-console');
  });

  test('a trace opens as a waterfall', async () => {
    await page.goto(`/traces?ip=${attackers[0]}&since=7d`);
    const first = page.getByRole('table', { name: 'Traces' }).getByRole('link', { name: /GET \/v1\/admin\/export/ }).first();
    await first.waitFor();
    await shot(page, '12-traces');
    await first.click();
    const tree = page.getByRole('tree', { name: 'Span tree' });
    await tree.waitFor();
    const items = tree.getByRole('treeitem');
    const n = await items.count();
    assert.ok(n >= 2, `the trace has ${n} spans`);
    assert.match(await items.first().innerText(), /GET \/v1\/admin\/export/);
    await shot(page, '13-trace-waterfall');
    await tree.getByRole('button', { name: /^Collapse / }).first().click();
    assert.equal(await items.count(), 1, 'collapsing the root hides its children');
    await tree.getByRole('button', { name: /^Expand / }).first().click();
    assert.equal(await items.count(), n);
  });

  test('incidents, rules and settings render', async () => {
    await page.goto('/incidents');
    const link = page.getByRole('table').getByRole('link').first();
    await link.waitFor();
    await shot(page, '14-incidents');
    await link.click();
    await page.getByRole('region', { name: 'Scope' }).waitFor();
    await shot(page, '15-incident');
    await page.goto('/rules');
    await page.getByRole('table', { name: 'Rules' }).getByRole('link', { name: 'Admin or internal endpoint hit by a new caller' }).click();
    await page.getByRole('region', { name: 'What it detects' }).waitFor();
    await shot(page, '16-rule');
    await page.goto('/rules');
    await shot(page, '17-rules');
    await page.goto('/settings');
    await page.getByRole('table', { name: 'Users' }).waitFor();
    await shot(page, '18-settings');
    await page.goto('/investigations');
    await page.getByText('This page arrives with its API').waitFor();
  });

  test('no page logged an error', () => {
    assert.deepEqual(errors, []);
  });
});

describe('roles and themes', { concurrency: 1 }, () => {
  test('a viewer sees no buttons that change anything', async () => {
    const { context, page: p, errors: errs } = await newPage(browser);
    await login(p, process.env.E2E_VIEWER_USER, process.env.E2E_VIEWER_PASSWORD);
    await p.goto('/notifications?status=open,investigating,resolved,false_positive');
    await p.locator('li.ntf').first().waitFor();
    assert.equal(await p.getByRole('toolbar', { name: 'Bulk actions' }).count(), 0);
    await p.locator('li.ntf .ntf-main').first().click();
    await p.getByRole('complementary').getByRole('heading', { name: 'Audit trail' }).waitFor();
    assert.equal(await p.getByRole('group', { name: 'Change status' }).count(), 0);
    await p.goto('/ips');
    await p.getByRole('table', { name: 'Monitored IPs' }).locator('.vbody [role=row]').first().waitFor();
    assert.equal(await p.getByRole('button', { name: 'Block…' }).count(), 0);
    assert.equal(await p.getByRole('button', { name: 'Track addresses…' }).count(), 0);
    await shot(p, '19-viewer-ips');
    assert.deepEqual(errs, []);
    await context.close();
  });

  test('the dark theme follows the system and the toggle', async () => {
    const { context, page: p } = await newPage(browser, { colorScheme: 'dark' });
    await login(p);
    await p.goto('/map');
    await p.locator('svg.pack circle[data-kind="endpoint"]').first().waitFor();
    const bg = () => p.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(await bg(), 'rgb(13, 17, 23)');
    await shot(p, '20-map-dark');
    await p.getByRole('button', { name: 'Switch to the light theme' }).click();
    assert.equal(await bg(), 'rgb(244, 246, 248)');
    await context.close();
  });
});
