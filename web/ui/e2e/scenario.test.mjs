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
    // Every circle left is a shadow endpoint, once the filtered map has
    // replaced the whole one (the circle above is in both).
    await page.waitForFunction(() => {
      const cs = [...document.querySelectorAll('circle[data-kind="endpoint"]')];
      return cs.length >= 1 && cs.every((c) => c.classList.contains('pk-shadow'));
    }, null, { timeout: 10_000 }).catch(() => {});
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

  test('an investigation of the attacker IPs says Malicious — Data Exfiltration, with its evidence and campaign', async () => {
    // From the IP page: one address.
    await page.goto(`/ips?ip=${attackers[0]}`);
    await page.getByRole('complementary', { name: `IP ${attackers[0]}` }).getByRole('link', { name: 'Run investigation' }).click();
    await page.waitForURL(/\/investigations\?callers=104\.248\.73\.19$/);
    const verdict = page.getByRole('region', { name: 'Verdict' });
    await verdict.locator('.verdict-label').getByText('Data Exfiltration', { exact: true }).waitFor({ timeout: 60_000 });
    // Then all three, from the form; the URL holds them.
    const box = page.getByRole('textbox', { name: 'IPs or API keys' });
    assert.equal(await box.inputValue(), attackers[0]);
    await box.fill(attackers.join(', '));
    await page.getByRole('button', { name: 'Investigate', exact: true }).click();
    await page.waitForURL(/callers=104\.248\.73\.19%2C167\.71\.205\.88%2C178\.128\.44\.156/);
    await verdict.getByText('3 of 3 callers flagged', { exact: true }).waitFor({ timeout: 60_000 });
    const text = await verdict.innerText();
    assert.match(text, /Malicious\s+—\s+Data Exfiltration/, text);
    assert.match(text, /High certainty/, text);
    const risk = Number(await verdict.getByRole('meter', { name: 'Risk score' }).getAttribute('aria-valuenow'));
    assert.ok(risk >= 80, `risk score ${risk}`);
    const callers = await page.getByRole('table', { name: 'Callers' }).locator('tbody tr').allInnerTexts();
    assert.equal(callers.length, 3);
    for (const row of callers) assert.match(row, /Malicious — Data Exfiltration/);
    // The findings of the riskiest caller, with their evidence queries.
    const caller = page.getByRole('region', { name: /^Caller / });
    const findings = caller.getByRole('list', { name: 'Findings' });
    await findings.getByText(/Sequential enumeration of query parameter collection_id/).waitFor();
    assert.ok(await findings.getByRole('link', { name: 'Run the evidence query' }).count() >= 3, 'findings link their evidence queries');
    const attack = await caller.getByRole('list', { name: 'ATT&CK techniques' }).innerText();
    for (const t of ['T1190', 'T1530', 'T1078']) assert.match(attack, new RegExp(t));
    const owasp = await caller.getByRole('list', { name: 'OWASP API Top 10' }).innerText();
    for (const t of ['API1', 'API3', 'API4']) assert.match(owasp, new RegExp(t + ' '));
    assert.match(await caller.getByRole('list', { name: 'Remediation' }).innerText(), /Revoke API key/);
    // The campaign: the three addresses share the trial key.
    const campaign = page.getByRole('region', { name: /^Campaign C-/ });
    const members = await campaign.getByLabel('Campaign members').getByRole('link').allInnerTexts();
    assert.deepEqual([...members].sort(), [...attackers].sort());
    await campaign.getByRole('list', { name: /^Timeline of/ }).getByText(/joins \(address 3 of 3\)/).waitFor();
    await shot(page, '15a-investigation');
    // An evidence query runs in the SQL console and reproduces its finding's figure.
    const enumeration = findings.locator('li').filter({ hasText: 'Sequential enumeration' });
    const distinct = (await enumeration.innerText()).match(/([\d,]+) distinct ids/)?.[1];
    assert.ok(distinct, 'the enumeration finding counts distinct ids');
    await enumeration.getByRole('link', { name: 'Run the evidence query' }).click();
    await page.waitForURL(/\/forensics\?tab=sql&sql=/);
    const rows = page.getByRole('table', { name: 'Query results' });
    await rows.locator('.vbody [role=row]').first().waitFor({ timeout: 30_000 });
    const answer = await rows.innerText();
    assert.match(answer, /unique_ids/i);
    assert.ok(answer.split('\n').includes(distinct), `the evidence query answers ${distinct} unique ids:\n${answer}`);
    // Back: the URL reproduces the investigation.
    await page.goBack();
    await verdict.getByText('3 of 3 callers flagged', { exact: true }).waitFor({ timeout: 60_000 });
  });

  test('an exclusion is dry-run over history, warns that it hides the blocked attacker, is activated and deleted', async () => {
    await page.goto('/exclusions');
    await page.getByRole('button', { name: 'New exclusion' }).click();
    const form = page.getByRole('form', { name: 'New exclusion' });
    await form.getByLabel('Condition 1 value').fill(attackers[0]);
    await form.getByRole('radio', { name: 'Chosen rules' }).click();
    await form.getByRole('checkbox', { name: /One API key used from many addresses/ }).check();
    await form.getByLabel(/^Reason/).fill('e2e: a partner, supposedly');
    await form.getByLabel(/^Id/).fill('exc-e2e');
    await form.getByRole('button', { name: 'Create in shadow' }).click();
    await page.waitForURL(/\/exclusions\/exc-e2e$/);
    await page.getByRole('heading', { name: 'exc-e2e' }).waitFor();
    await page.getByText('pending · shadow').first().waitFor();
    assert.equal(await page.getByRole('button', { name: /^Activate/ }).count(), 0, 'activation waits for a dry run');
    // The dry run streams its progress, then its impact.
    await page.getByRole('button', { name: 'Dry run', exact: true }).click();
    const result = page.getByLabel('Dry run result');
    await result.waitFor({ timeout: 300_000 });
    const summary = await result.innerText();
    assert.match(summary, /It would have suppressed [1-9]\d* alert firings? in 1 rule/, summary);
    assert.match(summary, /hiding [1-9][\d,]* requests/, summary);
    assert.match(summary, /[\d,]+ evaluations in .* · [1-9]\d* progress updates?/, summary);
    const warning = result.getByRole('alert');
    const warned = await warning.innerText();
    assert.match(warned, /would hide malicious or confirmed activity/);
    assert.ok(warned.includes(attackers[0]), `the warning names the blocked attacker:\n${warned}`);
    assert.ok(await result.getByRole('table', { name: 'Suppressed firings', includeHidden: true }).locator('tbody tr').count() >= 1, 'the suppressed firings are listed');
    await shot(page, '21-exclusion-dry-run');
    // Activating what hides malicious activity takes a reason.
    await page.getByRole('button', { name: 'Activate anyway' }).click();
    await page.getByText('Say why the flagged activity may be suppressed.').waitFor();
    await page.getByLabel(/^Override reason/).fill('e2e: checking the override path');
    await page.getByRole('button', { name: 'Activate anyway' }).click();
    await page.getByText('Exclusion exc-e2e is active').waitFor({ timeout: 120_000 });
    await page.locator('.badge', { hasText: /^active$/ }).waitFor();
    await page.getByText('e2e: checking the override path').waitFor();
    // The list shows it active, forced, with who made it and why.
    await page.goto('/exclusions');
    const row = page.getByRole('table', { name: 'Exclusions' }).locator('tr[data-id="exc-e2e"]');
    const line = await row.innerText();
    for (const want of [/active/, /forced/, /e2e: a partner, supposedly/, /104\.248\.73\.19/, /e2e/]) assert.match(line, want, line);
    await shot(page, '22-exclusions');
    // Deleted, it leaves the list.
    await row.getByRole('link', { name: 'exc-e2e' }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog', { name: 'Delete exc-e2e' }).getByRole('button', { name: 'Delete', exact: true }).click();
    await page.waitForURL(/\/exclusions$/);
    await page.getByText('Exclusion exc-e2e deleted').waitFor();
    await page.getByText('No exclusion applies').waitFor();
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
    // The admin sees the integrations the server runs with.
    const integrations = page.getByRole('region', { name: 'Integrations' });
    await integrations.getByText('Automatic response').waitFor();
    assert.match(await integrations.innerText(), /AbuseIPDB[\s\S]*(no key|key set)[\s\S]*State store/);
    await shot(page, '18-settings');
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
    // Exclusions: read, not changed.
    await p.goto('/exclusions');
    await p.getByRole('heading', { name: 'Silences' }).waitFor();
    assert.equal(await p.getByRole('button', { name: 'New exclusion' }).count(), 0);
    assert.equal(await p.getByRole('form', { name: 'New silence' }).count(), 0);
    // Investigations are for viewers too (the server's role for them).
    await p.goto('/investigations?callers=178.128.44.156');
    await p.getByRole('region', { name: 'Verdict' }).locator('.verdict-label').getByText('Malicious', { exact: true }).waitFor({ timeout: 60_000 });
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
