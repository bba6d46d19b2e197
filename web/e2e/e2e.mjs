// End-to-end tests of the web app in headless Chromium against the real
// server on a fresh PostgreSQL database. Screenshots and axe results go to
// target/e2e-artifacts/. Run through scripts/web-test.sh.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, launchBrowser, require, startServer } from './harness.mjs';

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const consoleErrors = [];
const axeReport = {};
const results = [];
let currentStep = '';

async function step(name, body) {
  const started = Date.now();
  currentStep = name;
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`  ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`  FAIL ${name}: ${error.stack || error}`);
    throw error;
  }
}

async function newSession(browser, label, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`[${label}, ${currentStep}] ${message.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`[${label}, ${currentStep}] ${error.message}`));
  return { context, page };
}

async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** axe-core on the current screen (or the part `selector` names): no serious or critical violations. */
async function axe(page, screen, selector) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async (include) =>
    // eslint-disable-next-line no-undef
    axe.run(include ? { include: [include] } : document, { resultTypes: ['violations'] }),
  selector);
  const violations = result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
  }));
  axeReport[screen] = violations;
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe found serious/critical violations on ${screen}: ${JSON.stringify(bad, null, 2)}`);
}

async function signUp(page, baseUrl, name, email) {
  await page.goto(`${baseUrl}/signup`);
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 `secret` at time step `step`, as an authenticator app computes it. */
function totp(secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[19] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function createTask(page, title, priority) {
  await page.locator('#new-task-title').fill(title);
  if (priority) await page.locator('#new-task-priority').selectOption({ label: priority });
  await page.getByRole('button', { name: 'Add task' }).click();
  await page.locator('.toast', { hasText: `Created “${title}”` }).first().waitFor();
}

const column = (page, index) => page.locator(`ul[data-column="${index}"]`);
const card = (page, title) => page.locator('.task-card', { hasText: title });

async function rowTitles(page) {
  await page.waitForFunction(() => document.querySelector('.table-wrap')?.getAttribute('aria-busy') === 'false');
  return page.locator('table.tasks tbody tr a[data-nav]').allInnerTexts();
}

async function expectRows(page, expected) {
  const deadline = Date.now() + 10_000;
  let titles = [];
  while (Date.now() < deadline) {
    titles = (await rowTitles(page)).sort();
    if (JSON.stringify(titles) === JSON.stringify([...expected].sort())) return;
    await page.waitForTimeout(100);
  }
  assert.deepEqual(titles, [...expected].sort());
}

const server = await startServer();
const browser = await launchBrowser();
const { baseUrl } = server;
console.log(`web e2e: server ${baseUrl}, database ${server.database}`);
let failed = false;
try {
  const ada = await newSession(browser, 'ada');
  const bob = await newSession(browser, 'bob');
  let projectUrl;

  await step('sign-up shows the server\'s field error next to the field, then succeeds', async () => {
    const { page } = ada;
    await page.goto(`${baseUrl}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await axe(page, 'sign-in');
    await screenshot(page, '01-sign-in');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Your name').fill('Ada');
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel(/^Password/).fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#password-error').waitFor();
    assert.match(await page.locator('#password-error').innerText(), /10/);
    await page.getByLabel(/^Password/).fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
  });

  await step('create a project', async () => {
    const { page } = ada;
    await page.getByLabel('Title').fill('Launch');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('heading', { name: 'Launch', level: 1 }).waitFor();
    projectUrl = page.url().replace(/\?.*$/, '');
    await axe(page, 'projects-empty-list');
  });

  await step('create tasks (n focuses the new-task field)', async () => {
    const { page } = ada;
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('n');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-task-title');
    await createTask(page, 'Write the README', 'High');
    await createTask(page, 'Fix login bug', 'Urgent');
    await createTask(page, 'Plan release', 'Low');
    await expectRows(page, ['Write the README', 'Fix login bug', 'Plan release']);
  });

  await step('edit a task: labels, due date and markdown (rendered safely)', async () => {
    const { page } = ada;
    await page.getByRole('link', { name: 'Fix login bug' }).click();
    await page.getByLabel('Title').waitFor();
    await page.getByLabel(/^Labels/).fill('bug, auth');
    await page.getByLabel('Due').fill('2026-12-01');
    await page.getByLabel(/^Description/).fill('Steps:\n\n1. **Open** the page\n\n<img src=x onerror="window.pwned=1"> [x](javascript:alert(1))');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.toast', { hasText: 'Saved.' }).first().waitFor();
    const preview = page.locator('.markdown').first();
    assert.equal(await preview.locator('strong').innerText(), 'Open');
    assert.equal(await preview.locator('img').count(), 0);
    assert.equal(await preview.locator('a[href^="javascript"]').count(), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    await page.getByLabel(/^Add a comment/).fill('Reproduced on **staging**.');
    await page.getByRole('button', { name: 'Comment' }).click();
    await page.locator('ol.comments strong', { hasText: 'staging' }).waitFor();
    await page.locator('ol.history li', { hasText: 'changed' }).first().waitFor();
    // Both renderings come from the server: after a reload, the saved
    // description's preview and the comment show without any typing.
    await page.reload();
    await page.locator('.markdown strong', { hasText: 'Open' }).waitFor();
    await page.locator('ol.comments strong', { hasText: 'staging' }).waitFor();
    await axe(page, 'task-detail');
    await screenshot(page, '04-task-detail');
  });

  await step('comments: the author edits one by keyboard (Escape cancels), then deletes it', async () => {
    const { page } = ada;
    const comment = page.locator('ol.comments > li', { hasText: 'staging' });
    const focused = (tag) => page.waitForFunction((t) => document.activeElement?.tagName === t, tag, { timeout: 5000 });
    await comment.getByRole('button', { name: 'Edit comment' }).focus();
    await page.keyboard.press('Enter');
    await focused('TEXTAREA');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Edit comment', null, { timeout: 5000 });
    await page.keyboard.press('Enter');
    await focused('TEXTAREA');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('Reproduced on **production** too.');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const edited = page.locator('ol.comments > li', { hasText: 'production' });
    await edited.locator('strong', { hasText: 'production' }).waitFor();
    assert.match(await edited.innerText(), /edited/);
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Edit comment', null, { timeout: 5000 });
    await page.locator('ol.history li', { hasText: 'comment' }).first().waitFor();
    await axe(page, 'comment-edited');

    await edited.getByRole('button', { name: 'Delete comment' }).first().click();
    const confirm = page.getByRole('group', { name: 'Delete this comment?' });
    await confirm.waitFor();
    await page.waitForFunction(() => document.activeElement?.textContent === 'Keep it', null, { timeout: 5000 });
    await axe(page, 'comment-confirm-delete');
    await confirm.getByRole('button', { name: 'Delete comment' }).click();
    await page.locator('.toast', { hasText: 'Comment deleted.' }).first().waitFor();
    await page.locator('ol.comments > li', { hasText: 'production' }).waitFor({ state: 'detached' });
    await page.reload();
    await page.getByLabel('Title').waitFor();
    assert.equal(await page.locator('ol.comments > li').count(), 0, 'a deleted comment stays gone');
  });

  await step('filter and search the list', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await expectRows(page, ['Write the README', 'Fix login bug', 'Plan release']);
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'search');
    await page.keyboard.type('readme');
    await expectRows(page, ['Write the README']);
    await page.locator('#search').fill('');
    await expectRows(page, ['Write the README', 'Fix login bug', 'Plan release']);
    await page.getByLabel('Priority at least').selectOption({ label: 'High' });
    await expectRows(page, ['Write the README', 'Fix login bug']);
    await page.getByLabel('Label').fill('bug');
    await page.getByLabel('Label').press('Tab');
    await expectRows(page, ['Fix login bug']);
    await page.getByLabel('Label').fill('');
    await page.getByLabel('Label').press('Tab');
    await page.getByLabel('Priority at least').selectOption({ label: 'Any' });
    await page.getByLabel('Due before').fill('2026-12-31');
    await page.getByLabel('Due before').press('Tab');
    await expectRows(page, ['Fix login bug']);
    await page.getByLabel('Due before').fill('');
    await page.getByLabel('Due before').press('Tab');
    await page.getByLabel('Sort').selectOption({ label: 'Title A–Z' });
    await page.waitForTimeout(300);
    assert.deepEqual(await rowTitles(page), ['Fix login bug', 'Plan release', 'Write the README']);
    await axe(page, 'task-list');
    await screenshot(page, '03-task-list');
  });

  await step('search: s focuses the header search; a typo finds a title, matches are marked as text, Enter opens the task', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await expectRows(page, ['Write the README', 'Fix login bug', 'Plan release']);
    await page.keyboard.press('s');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'global-search');
    const options = page.locator('#global-search-results [role="option"]');
    await page.keyboard.type('releese');
    await options.filter({ hasText: 'Plan release' }).first().waitFor();
    // A description holding markup: its snippet is text, the match marked.
    await page.locator('#global-search').fill('steps');
    await page.locator('#global-search-results mark', { hasText: 'Steps' }).first().waitFor();
    await options.filter({ hasText: 'Fix login bug' }).first().waitFor();
    assert.equal(await page.locator('#global-search-results img').count(), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    // The comment's text is searched too.
    await page.locator('#global-search').fill('staging');
    await options.filter({ hasText: 'Fix login bug' }).first().waitFor();
    await page.locator('#global-search').fill('readme');
    await page.locator('#global-search-results mark', { hasText: /readme/i }).first().waitFor();
    await axe(page, 'global-search');
    await screenshot(page, '03b-search');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.locator('#global-search').getAttribute('aria-activedescendant'), 'global-search-results-0');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/tasks\//);
    await page.getByLabel('Title').waitFor();
    assert.equal(await page.getByLabel('Title').inputValue(), 'Write the README');
  });

  await step('saved views: the filtered list saved as a shared view opens by URL, narrows, closes and is deleted', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await page.getByLabel('Priority at least').selectOption({ label: 'High' });
    await expectRows(page, ['Write the README', 'Fix login bug']);
    await page.getByLabel('View name').fill('Urgent work');
    await page.getByLabel('Share with the project').check();
    await page.getByLabel('View name').press('Enter');
    await page.waitForURL(/\?saved=/);
    const savedUrl = page.url();
    const link = page.getByRole('link', { name: 'Urgent work' });
    await link.waitFor();
    assert.equal(await link.getAttribute('aria-current'), 'page');
    await page.getByRole('status').filter({ hasText: 'priority >= HIGH' }).waitFor();
    await axe(page, 'saved-views');
    // Opened by URL in a fresh page, the view alone filters; the bar narrows it.
    await page.goto(savedUrl);
    await expectRows(page, ['Write the README', 'Fix login bug']);
    await page.getByLabel('Label').fill('bug');
    await page.getByLabel('Label').press('Tab');
    await expectRows(page, ['Fix login bug']);
    await page.getByLabel('Label').fill('');
    await page.getByLabel('Label').press('Tab');
    await page.getByRole('link', { name: 'Close view' }).click();
    await expectRows(page, ['Write the README', 'Fix login bug', 'Plan release']);
    await page.goto(savedUrl);
    await page.getByRole('button', { name: 'Delete view' }).click();
    await page.locator('.toast', { hasText: 'View “Urgent work” deleted.' }).first().waitFor();
    await page.getByRole('link', { name: 'Urgent work' }).waitFor({ state: 'detached' });
    await expectRows(page, ['Write the README', 'Fix login bug', 'Plan release']);
  });

  await step('board: drag and drop moves a task to another column', async () => {
    const { page } = ada;
    await page.getByRole('link', { name: 'Board' }).click();
    await card(page, 'Write the README').waitFor();
    const moved = page.waitForResponse((r) => r.url().endsWith('/MoveTask'));
    await card(page, 'Write the README').dragTo(column(page, 1));
    await column(page, 1).locator('.task-card', { hasText: 'Write the README' }).waitFor();
    await moved;
    await page.reload();
    await column(page, 1).locator('.task-card', { hasText: 'Write the README' }).waitFor({ timeout: 10_000 });
  });

  await step('board: Alt+arrow keys move a task across columns and within one', async () => {
    const { page } = ada;
    await card(page, 'Plan release').focus();
    let moved = page.waitForResponse((r) => r.url().endsWith('/MoveTask'));
    await page.keyboard.press('Alt+ArrowRight');
    await column(page, 1).locator('.task-card', { hasText: 'Plan release' }).waitFor();
    await moved;
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.includes('Plan release')), true);
    moved = page.waitForResponse((r) => r.url().endsWith('/MoveTask'));
    await page.keyboard.press('Alt+ArrowUp');
    await page.waitForFunction(() => {
      const cards = [...document.querySelectorAll('ul[data-column="1"] .task-card a')].map((a) => a.textContent);
      return cards[0] === 'Plan release' && cards[1] === 'Write the README';
    });
    await moved;
    await page.reload();
    await page.waitForFunction(() => {
      const cards = [...document.querySelectorAll('ul[data-column="1"] .task-card a')].map((a) => a.textContent);
      return cards.join('|') === 'Plan release|Write the README';
    }, null, { timeout: 10_000 });
    await axe(page, 'board');
    await screenshot(page, '05-board');
  });

  await step('members: the owner invites a second person, who accepts from the projects page by keyboard', async () => {
    await signUp(bob.page, baseUrl, 'Bob', 'bob@example.com');
    const { page } = ada;
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByLabel('Email address').fill('bob@example.com');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.locator('table.invitations td', { hasText: 'bob@example.com' }).waitFor();
    // An invitation can be withdrawn.
    await page.getByLabel('Email address').fill('carol@example.com');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    const revokeCarol = page.getByRole('button', { name: 'Revoke the invitation to carol@example.com' });
    await revokeCarol.waitFor();
    await axe(page, 'members');
    await screenshot(page, '06-members');
    await revokeCarol.click();
    await revokeCarol.waitFor({ state: 'detached' });
    // Bob sees the invitation on his projects page and accepts it with the keyboard.
    await bob.page.reload();
    const accept = bob.page.getByRole('button', { name: 'Accept the invitation to Launch' });
    await accept.waitFor();
    await axe(bob.page, 'invitations');
    await screenshot(bob.page, '06b-invitations');
    await accept.focus();
    await bob.page.keyboard.press('Enter');
    await bob.page.getByRole('link', { name: 'Launch' }).waitFor();
    assert.equal(await bob.page.getByRole('heading', { name: 'Invitations' }).count(), 0);
    await page.reload();
    await page.locator('table.members td', { hasText: 'bob@example.com' }).waitFor();
    await page.getByText('No pending invitations.').waitFor();
  });

  await step('live: a task created in another browser appears on the board within a second or two', async () => {
    const { page } = ada;
    await page.goto(`${projectUrl}?view=board`);
    await card(page, 'Plan release').waitFor();
    await page.waitForTimeout(1000); // let the watch stream connect
    await bob.page.goto(projectUrl);
    await bob.page.locator('#new-task-title').waitFor();
    const started = Date.now();
    await createTask(bob.page, 'Made by Bob');
    await card(page, 'Made by Bob').waitFor({ timeout: 5_000 });
    console.log(`       live update seen after ${Date.now() - started} ms`);
  });

  await step('offline: a banner on network loss; a change made meanwhile arrives after reconnecting', async () => {
    const { page, context } = ada;
    await context.setOffline(true);
    await page.locator('.banner.offline').waitFor({ timeout: 20_000 });
    await screenshot(page, '13-offline');
    await createTask(bob.page, 'Made while Ada was offline');
    await context.setOffline(false);
    await card(page, 'Made while Ada was offline').waitFor({ timeout: 20_000 });
    await page.locator('.banner.offline').waitFor({ state: 'detached', timeout: 5_000 });
  });

  await step('inbox: a mention reaches the other person\'s badge live; they open it, mark it read and unfollow the task', async () => {
    await bob.page.goto(`${baseUrl}/`);
    await bob.page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await bob.page.waitForTimeout(1000); // let the inbox stream connect
    const { page } = ada;
    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Made by Bob' }).click();
    await page.getByLabel(/^Add a comment/).fill('Looks good, @bob. Not `@ada` in code.');
    const started = Date.now();
    await page.getByRole('button', { name: 'Comment' }).click();
    const inboxLink = bob.page.getByRole('link', { name: /^Inbox\s*,\s*1\s+unread$/ });
    await inboxLink.waitFor({ timeout: 5_000 });
    console.log(`       mention reached the badge after ${Date.now() - started} ms`);
    // Ada mentioned herself only in code: her own inbox stays empty.
    assert.equal(await page.getByRole('link', { name: /^Inbox\s*,/ }).count(), 0);

    await inboxLink.click();
    await bob.page.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
    const item = bob.page.locator('ul.notifications li', { hasText: 'Made by Bob' });
    await item.locator('.headline', { hasText: 'Ada mentioned you' }).waitFor();
    await bob.page.getByRole('button', { name: 'Mentions', exact: true }).click();
    await bob.page.waitForFunction(() => document.querySelector('button[aria-pressed="true"]')?.textContent === 'Mentions');
    await item.waitFor();
    await axe(bob.page, 'inbox');
    await screenshot(bob.page, '07-inbox');
    await item.getByRole('button', { name: 'Mark read: Made by Bob' }).click();
    await bob.page.getByRole('link', { name: 'Inbox', exact: true }).waitFor();
    await bob.page.getByRole('button', { name: 'Unread', exact: true }).click();
    await bob.page.getByText('Nothing here. You are all caught up.').waitFor();
    await bob.page.getByRole('button', { name: 'All', exact: true }).click();

    // Bob created the task, so he follows it; he stops, by keyboard.
    await item.getByRole('link', { name: 'Made by Bob' }).click();
    const follow = bob.page.getByRole('button', { name: 'Following' });
    await follow.waitFor();
    await follow.focus();
    await bob.page.keyboard.press('Enter');
    await bob.page.getByRole('button', { name: 'Follow', exact: true, pressed: false }).waitFor();
    // A reminder of its own for this task, kept across a reload.
    await bob.page.waitForFunction(() => document.getElementById('task-reminder')?.value === 'default');
    await bob.page.getByLabel('Reminder', { exact: true }).selectOption({ label: '1 hour before' });
    await bob.page.waitForTimeout(500);
    await bob.page.reload();
    await bob.page.waitForFunction(() => document.getElementById('task-reminder')?.value === '3600', null, { timeout: 5000 });
    await axe(bob.page, 'task-follow');
    // The default reminder, on the inbox page.
    await bob.page.goto(`${baseUrl}/inbox`);
    await bob.page.getByText('Reminders', { exact: true }).click();
    await bob.page.getByLabel('Remind me before a task assigned to me is due').selectOption({ label: 'Never' });
    await bob.page.locator('.toast', { hasText: 'Reminder setting saved.' }).first().waitFor();
    await axe(bob.page, 'inbox-settings');
    // Email, per kind: comments come in the digest until Bob turns them off.
    await bob.page.getByText('Email', { exact: true }).click();
    const comments = bob.page.getByLabel('Comments', { exact: true });
    await bob.page.waitForFunction(() => document.getElementById('email-3')?.value === '2');
    await comments.focus();
    await comments.selectOption({ label: 'Off' });
    await bob.page.locator('.toast', { hasText: 'Email setting saved.' }).first().waitFor();
    await bob.page.reload();
    await bob.page.waitForFunction(() => document.getElementById('email-3')?.value === '3', null, { timeout: 5000 });
    await bob.page.getByText('Email', { exact: true }).click();
    await axe(bob.page, 'inbox-email-settings');
    // An unsubscribe link asks first; a token the server did not sign is refused.
    await bob.page.goto(`${baseUrl}/unsubscribe?token=not-a-real-token`);
    const unsubscribe = bob.page.getByRole('button', { name: 'Unsubscribe' });
    await unsubscribe.focus();
    await bob.page.keyboard.press('Enter');
    await bob.page.getByRole('status').filter({ hasText: /unsubscribe link/ }).waitFor();
    await axe(bob.page, 'unsubscribe');
  });

  await step('mentions: typing @ in a comment suggests members; Enter inserts the handle the server reads', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Made by Bob' }).click();
    const editor = page.getByLabel(/^Add a comment/);
    await editor.click();
    await page.keyboard.type('Over to you @Bo');
    const option = page.getByRole('option', { name: /^Bob \(bob@example\.com\)$/ });
    await option.waitFor();
    assert.equal(await editor.getAttribute('aria-activedescendant'), 'comment-mentions-0');
    await axe(page, 'mention-suggestions');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('comment-body')?.value === 'Over to you @bob ');
    assert.equal(await page.getByRole('listbox', { name: 'Members to mention' }).isVisible(), false);
    await page.keyboard.type('please.');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    await page.locator('ol.comments li', { hasText: 'Over to you @bob please.' }).waitFor();
    await bob.page.getByRole('link', { name: /^Inbox\s*,\s*1\s+unread$/ }).waitFor({ timeout: 5_000 });
  });

  await step('etag conflict: a stale edit is refused and the latest version can be reloaded', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Fix login bug' }).click();
    await page.getByLabel('Title').waitFor();
    const taskUrl = page.url();
    await bob.page.goto(taskUrl);
    await bob.page.getByLabel('Title').fill('Fix login bug on Safari');
    await bob.page.getByRole('button', { name: 'Save changes' }).click();
    await bob.page.locator('.toast', { hasText: 'Saved.' }).first().waitFor();
    await page.getByLabel('Priority').selectOption({ label: 'Low' });
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.banner.conflict').waitFor();
    await screenshot(page, '07-conflict');
    await page.getByRole('button', { name: 'Reload the latest version' }).click();
    await page.getByRole('heading', { name: 'Fix login bug on Safari' }).waitFor();
    assert.equal(await page.getByLabel('Title').inputValue(), 'Fix login bug on Safari');
    assert.equal(await page.locator('.banner.conflict').count(), 0);
  });

  await step('delete with undo', async () => {
    const { page } = ada;
    await page.getByRole('button', { name: 'Delete task' }).click();
    const toast = page.locator('.toast', { hasText: 'Deleted “Fix login bug on Safari”' });
    await toast.waitFor();
    await expectRows(page, ['Write the README', 'Plan release', 'Made by Bob', 'Made while Ada was offline']);
    await toast.getByRole('button', { name: 'Undo' }).click();
    await page.locator('.toast', { hasText: 'Restored' }).waitFor();
    await expectRows(page, ['Write the README', 'Plan release', 'Made by Bob', 'Made while Ada was offline', 'Fix login bug on Safari']);
  });

  await step('API tokens: create (secret shown once), list, revoke', async () => {
    const { page } = ada;
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByLabel('Name').fill('ci');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = page.locator('#token-secret');
    await secret.waitFor();
    assert.match(await secret.inputValue(), /^ttk_/);
    await page.locator('table.tokens td', { hasText: 'ci' }).first().waitFor();
    await axe(page, 'api-tokens');
    await screenshot(page, '08-api-tokens');
    await page.getByRole('button', { name: 'Revoke ci' }).click();
    await page.locator('table.tokens td', { hasText: 'revoked' }).waitFor();
  });

  await step('profile: a bad name is shown on its input; the chosen time zone shows on every time, and the new name in the header', async () => {
    const { page } = ada;
    await page.locator('header a.who').click();
    await page.getByRole('heading', { name: 'Profile', level: 1 }).waitFor();
    const name = page.getByLabel('Display name');
    await name.fill('   ');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#profile-name-error', { hasText: 'must not be empty' }).waitFor();
    await name.fill('Ada L.');
    await page.getByLabel('Time zone').selectOption('Asia/Tokyo');
    await axe(page, 'profile');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.toast', { hasText: 'Profile saved.' }).waitFor();
    await page.locator('header a.who', { hasText: 'Ada L.' }).waitFor();
    await screenshot(page, '13b-profile');
    // Times elsewhere follow: the sessions list shows Tokyo time; the device's zone again after.
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.locator('table.sessions td', { hasText: /\d{4}-\d\d-\d\d \d\d:\d\d (GMT\+9|JST)/ }).first().waitFor();
    await page.locator('header a.who').click();
    await page.getByLabel('Time zone').selectOption('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.toast', { hasText: 'Profile saved.' }).last().waitFor();
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.locator('table.sessions td', { hasText: /\d{4}-\d\d-\d\d \d\d:\d\d UTC/ }).first().waitFor();
    await page.getByRole('link', { name: 'Projects', exact: true }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
  });

  await step('sessions: listed with this browser marked; revoking another signs it out', async () => {
    const { page } = ada;
    const elsewhere = await newSession(browser, 'ada-elsewhere');
    await elsewhere.page.goto(`${baseUrl}/signin`);
    await elsewhere.page.getByLabel('Email').fill('ada@example.com');
    await elsewhere.page.getByLabel('Password').fill('correct horse battery staple');
    await elsewhere.page.getByRole('button', { name: 'Sign in' }).click();
    await elsewhere.page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.locator('table.sessions td', { hasText: 'This browser' }).waitFor();
    const rows = page.locator('table.sessions tbody tr');
    assert.ok((await rows.count()) >= 2, 'both browsers are listed');
    await axe(page, 'sessions');
    await screenshot(page, '14-sessions');
    // The newest session that is not this browser's is the other one's: the list is newest first.
    const other = rows.filter({ hasNotText: 'This browser' }).first();
    const before = await rows.count();
    await other.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('.toast', { hasText: 'Signed that session out.' }).waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('table.sessions tbody tr').length === n - 1, before);
    await elsewhere.page.getByRole('link', { name: 'API tokens' }).click();
    await elsewhere.page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 20_000 });
    await elsewhere.context.close();
  });

  await step('two-factor: enrolled from the QR screen by keyboard, sign-in asks for the code, the project toggle, turned off', async () => {
    const { page } = ada;
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).locator('svg').waitFor();
    const secret = (await page.locator('p', { hasText: 'Key:' }).locator('code').textContent()).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await axe(page, 'two-factor enrolment');
    await screenshot(page, '14b-two-factor-enrolment');
    const step = Math.floor(Date.now() / 30_000);
    await page.getByLabel('Code from the app').fill(totp(secret, step - 1));
    await page.keyboard.press('Enter');
    const codes = page.locator('ol.recovery-codes li');
    await codes.first().waitFor();
    assert.equal(await codes.count(), 10);
    await page.getByText('On: signing in asks for a code').waitFor();
    await axe(page, 'two-factor recovery codes');
    // Another browser: the password, then the next step's code (each code counts once).
    const elsewhere = await newSession(browser, 'ada-2fa');
    await elsewhere.page.goto(`${baseUrl}/signin`);
    await elsewhere.page.getByLabel('Email').fill('ada@example.com');
    await elsewhere.page.getByLabel('Password').fill('correct horse battery staple');
    await elsewhere.page.getByRole('button', { name: 'Sign in' }).click();
    const valid = [step - 1, step, step + 1, step + 2].map((s) => totp(secret, s));
    await elsewhere.page.getByLabel('Authentication code').fill(['000000', '111111', '222222'].find((c) => !valid.includes(c)));
    await elsewhere.page.keyboard.press('Enter');
    await elsewhere.page.getByRole('alert').filter({ hasText: 'wrong or was already used' }).waitFor();
    await axe(elsewhere.page, 'sign-in second factor');
    await elsewhere.page.getByLabel('Authentication code').fill(totp(secret, step));
    await elsewhere.page.keyboard.press('Enter');
    await elsewhere.page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await elsewhere.context.close();
    // With it on, Ada may require it of the project's members; off again for the steps after this one.
    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Workflow' }).click();
    const required = page.getByLabel('Members need two-factor authentication');
    await required.check();
    await page.locator('.toast', { hasText: 'Members without two-factor authentication are now refused.' }).waitFor();
    await required.uncheck();
    await page.locator('.toast', { hasText: 'Two-factor authentication is no longer required.' }).waitFor();
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).waitFor();
  });

  await step('projects page, dark mode and the shortcut help', async () => {
    const { page } = ada;
    await page.getByRole('link', { name: 'Projects', exact: true }).click();
    await page.getByRole('link', { name: 'Launch' }).waitFor();
    await axe(page, 'projects');
    await screenshot(page, '02-projects');
    await page.getByRole('button', { name: /^Theme/ }).click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.goto(`${projectUrl}?view=board`);
    await card(page, 'Plan release').waitFor();
    await axe(page, 'board-dark');
    await screenshot(page, '09-board-dark');
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('?');
    await page.getByRole('heading', { name: 'Keyboard shortcuts' }).waitFor();
    await screenshot(page, '10-shortcuts');
    await page.keyboard.press('Escape');
  });

  await step('workflow: a new state with a WIP limit becomes a board column; a card dragged into it fills it', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Workflow' }).click();
    await page.getByLabel('Name of Done').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Review');
    await page.getByLabel('Category').selectOption({ label: 'Started' });
    await page.getByRole('button', { name: 'Add state' }).click();
    const review = page.locator('tr', { has: page.getByLabel('Name of Review') });
    await review.waitFor();
    // Added last; one step up puts it between In progress and Done.
    let changed = page.waitForResponse((r) => r.url().endsWith('/MoveWorkflowState'));
    await page.getByRole('button', { name: 'Move up of Review' }).click();
    await changed;
    await page.waitForFunction(() => {
      const names = [...document.querySelectorAll('table.states tbody tr input[id^="state-name-"]')].map((i) => i.value);
      return names.join('|') === 'To do|In progress|Review|Done';
    });
    changed = page.waitForResponse((r) => r.url().endsWith('/UpdateWorkflowState'));
    await page.getByLabel('WIP limit of Review').fill('1');
    await page.locator('tr', { has: page.getByLabel('Name of Review') }).getByRole('button', { name: 'Save' }).click();
    await changed;
    await axe(page, 'workflow');
    await screenshot(page, '14-workflow');

    await page.goto(`${projectUrl}?view=board`);
    const heading = page.locator('section.column h2').nth(2);
    await heading.filter({ hasText: 'Review' }).filter({ hasText: '0 / 1' }).waitFor();
    const moved = page.waitForResponse((r) => r.url().endsWith('/MoveTask'));
    await card(page, 'Made by Bob').dragTo(column(page, 2));
    await column(page, 2).locator('.task-card', { hasText: 'Made by Bob' }).waitFor();
    await moved;
    await page.reload();
    await column(page, 2).locator('.task-card', { hasText: 'Made by Bob' }).waitFor({ timeout: 10_000 });
    await heading.filter({ hasText: '1 / 1, at its WIP limit' }).waitFor();
    assert.equal(await page.locator('section.column h2.full').count(), 1);
    await axe(page, 'board-states');
    await screenshot(page, '15-board-states');
  });

  await step('subtasks: two added from a task page, one checked off; the rollup shows there and on the card', async () => {
    const { page } = ada;
    await page.goto(`${projectUrl}?view=board`);
    await card(page, 'Plan release').locator('a').click();
    await page.getByRole('heading', { name: 'Subtasks' }).waitFor();
    for (const title of ['Draft the notes', 'Tag the build']) {
      await page.getByLabel('Add a subtask').fill(title);
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      await page.getByLabel(title, { exact: true }).waitFor();
    }
    await page.getByRole('heading', { name: 'Subtasks (0 of 2 done)' }).waitFor();
    await page.getByLabel('Draft the notes', { exact: true }).check();
    await page.getByRole('heading', { name: 'Subtasks (1 of 2 done)' }).waitFor();
    assert.equal(await page.getByLabel('Draft the notes', { exact: true }).isChecked(), true);
    await axe(page, 'subtasks');
    await screenshot(page, '17-subtasks');
    await page.goto(`${projectUrl}?view=board`);
    await card(page, 'Plan release').filter({ hasText: '1 of 2 subtasks done' }).waitFor();
  });

  await step('task page: the state picker lists the states in board order and moves the task on the board', async () => {
    const { page } = ada;
    await page.goto(`${projectUrl}?view=board`);
    await card(page, 'Plan release').locator('a').click();
    const picker = page.getByLabel('State', { exact: true });
    await picker.locator('option', { hasText: 'Review' }).waitFor({ state: 'attached' });
    assert.deepEqual(await picker.locator('option').allInnerTexts(), ['To do', 'In progress', 'Review', 'Done']);
    assert.equal(await picker.evaluate((select) => select.selectedOptions[0]?.textContent), 'In progress');
    // By keyboard: focus the picker, then choose the last state.
    await picker.focus();
    await page.keyboard.press('End');
    assert.equal(await picker.evaluate((select) => select.selectedOptions[0]?.textContent), 'Done');
    const saved = page.waitForResponse((r) => r.url().endsWith('/UpdateTask'));
    await page.getByRole('button', { name: 'Save changes' }).click();
    const answer = await saved;
    assert.equal(answer.status(), 200);
    await page.locator('.toast', { hasText: 'Saved.' }).first().waitFor();
    await page.locator('#task-heading + p', { hasText: /^Done ·/ }).waitFor();
    await axe(page, 'task-state');
    await screenshot(page, '18-task-state');
    await page.goto(`${projectUrl}?view=board`);
    await column(page, 3).locator('.task-card', { hasText: 'Plan release' }).waitFor({ timeout: 10_000 });
    assert.equal(await column(page, 1).locator('.task-card', { hasText: 'Plan release' }).count(), 0);
  });

  await step('relations: a blocker picked by keyboard in the combobox shows on both tasks; the rule refuses completion until it is removed', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Write the README' }).click();
    await page.getByRole('heading', { name: 'Relations' }).waitFor();
    await page.locator('p.muted', { hasText: 'No relations.' }).waitFor();
    await page.getByLabel('Type', { exact: true }).selectOption({ label: 'Blocked by' });
    const combobox = page.getByRole('combobox', { name: 'Task', exact: true });
    assert.equal(await combobox.getAttribute('aria-controls'), 'relation-task-options');
    assert.equal(await combobox.getAttribute('aria-expanded'), 'false');
    // Keyboard only: type, wait for the debounced search, arrow down, Enter picks, Enter again submits.
    await combobox.focus();
    const searched = page.waitForResponse((r) => r.url().endsWith('/ListTasks'));
    await page.keyboard.type('safari');
    await searched;
    const listbox = page.getByRole('listbox', { name: 'Matching tasks' });
    const option = listbox.getByRole('option', { name: 'Fix login bug on Safari' });
    await option.waitFor();
    assert.equal(await combobox.getAttribute('aria-expanded'), 'true');
    assert.equal(await listbox.getByRole('option').count(), 1, 'one task matches; the task itself is never offered');
    await page.keyboard.press('ArrowDown');
    assert.equal(await combobox.getAttribute('aria-activedescendant'), await option.getAttribute('id'));
    assert.equal(await option.getAttribute('aria-selected'), 'true');
    await axe(page, 'relation-picker-open');
    await screenshot(page, '19-relation-picker');
    await page.keyboard.press('Escape');
    assert.equal(await combobox.getAttribute('aria-expanded'), 'false');
    await page.keyboard.press('ArrowDown');
    await option.waitFor();
    await page.keyboard.press('Enter');
    assert.equal(await combobox.inputValue(), 'Fix login bug on Safari');
    assert.equal(await combobox.getAttribute('aria-expanded'), 'false');
    const created = page.waitForResponse((r) => r.url().endsWith('/CreateTaskRelation'));
    await page.keyboard.press('Enter');
    assert.equal((await created).status(), 200);
    const blockedBy = page.locator('h3', { hasText: 'Blocked by' });
    await blockedBy.waitFor();
    await page.locator('ul.relations a', { hasText: 'Fix login bug on Safari' }).waitFor();
    assert.equal(await combobox.inputValue(), '');
    await axe(page, 'task-relations');
    await screenshot(page, '20-task-relations');

    // The same relation again: the server's refusal is shown next to the form, as an alert.
    await combobox.focus();
    await page.keyboard.type('safari');
    await option.waitFor();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    const refusal = page.locator('#relation-error[role="alert"]');
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /^Not possible: /);

    // The inverse, on the other task's page.
    const readmeUrl = page.url();
    await page.locator('ul.relations a', { hasText: 'Fix login bug on Safari' }).click();
    await page.getByRole('heading', { name: 'Fix login bug on Safari', level: 1 }).waitFor();
    await page.locator('h3', { hasText: /^Blocks$/ }).waitFor();
    await page.locator('ul.relations a', { hasText: 'Write the README' }).waitFor();

    // The owner turns the rule on.
    await page.goto(`${projectUrl}/workflow`);
    const rule = page.getByLabel('Open blockers stop completion');
    await rule.waitFor();
    assert.equal(await rule.isChecked(), false);
    await rule.check();
    await page.locator('.toast', { hasText: 'Tasks with open blockers cannot be completed.' }).waitFor();
    await page.reload();
    await page.getByLabel('Open blockers stop completion').waitFor();
    await page.waitForFunction(() => document.querySelector('#require-blockers')?.checked === true);

    // Completing the blocked task from its page: refused, naming the blocker.
    await page.goto(readmeUrl);
    const state = page.getByLabel('State', { exact: true });
    await state.locator('option', { hasText: 'Done' }).waitFor({ state: 'attached' });
    await state.selectOption({ label: 'Done' });
    await page.getByRole('button', { name: 'Save changes' }).click();
    const formError = page.locator('#task-form-error[role="alert"]');
    await formError.waitFor();
    assert.match(await formError.innerText(), /blockers done.*Fix login bug on Safari/);
    await screenshot(page, '21-blocked-completion');

    // And from the board: the move is undone and the toast names the blocker.
    await page.goto(`${projectUrl}?view=board`);
    await card(page, 'Write the README').waitFor();
    const refused = page.waitForResponse((r) => r.url().endsWith('/MoveTask'));
    await card(page, 'Write the README').dragTo(column(page, 3));
    await refused;
    await page.locator('.toast', { hasText: /Could not move “Write the README”\. Not possible: .*Fix login bug on Safari/ }).waitFor();
    await column(page, 1).locator('.task-card', { hasText: 'Write the README' }).waitFor();

    // Removing the relation (either side) lets the task complete.
    await page.goto(readmeUrl);
    await page.getByRole('button', { name: 'Remove relation: blocked by “Fix login bug on Safari”' }).click();
    await page.locator('p.muted', { hasText: 'No relations.' }).waitFor();
    await page.getByLabel('State', { exact: true }).locator('option', { hasText: 'Done' }).waitFor({ state: 'attached' });
    await page.getByLabel('State', { exact: true }).selectOption({ label: 'Done' });
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.toast', { hasText: 'Saved.' }).first().waitFor();
  });

  await step('fields: the owner adds a number and a single-select field by keyboard; a bad key is shown on its input', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Fields' }).click();
    await page.getByRole('heading', { name: 'Fields', level: 1 }).waitFor();
    await page.locator('p.muted', { hasText: 'No fields yet.' }).waitFor();
    const key = page.getByLabel('Key', { exact: true });
    await key.focus();
    await page.keyboard.type('Bad Key');
    await page.keyboard.press('Enter');
    const keyError = page.locator('#new-field-key-error[role="alert"]');
    await keyError.waitFor();
    assert.match(await key.getAttribute('aria-describedby'), /new-field-key-error/);
    await axe(page, 'fields-error');
    await key.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('estimate');
    await page.keyboard.press('Tab'); // Type
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-field-type');
    await page.keyboard.press('ArrowDown'); // Number
    await page.keyboard.press('Tab');
    await page.keyboard.type('Estimate');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-field-number_min');
    await page.keyboard.type('0');
    await page.keyboard.press('Tab');
    await page.keyboard.type('100');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space'); // Show on board cards
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // Add field
    await page.locator('.toast', { hasText: 'Added “Estimate”.' }).waitFor();
    const estimate = page.locator('ul.fields li', { has: page.getByRole('heading', { name: 'Estimate' }) });
    await estimate.locator('p.muted', { hasText: 'cf.estimate · Number · from 0 to 100 · shown on cards' }).waitFor();
    assert.equal(await keyError.count(), 0);

    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-field-key');
    await page.keyboard.type('team');
    await page.keyboard.press('Tab');
    for (let i = 0; i < 3; i += 1) await page.keyboard.press('ArrowDown'); // Single select
    assert.equal(await page.locator('#new-field-type').evaluate((s) => s.selectedOptions[0]?.textContent), 'Single select');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Team');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-field-options');
    await page.keyboard.type('core\nweb');
    await page.keyboard.press('Tab'); // Show on board cards: left off
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('.toast', { hasText: 'Added “Team”.' }).waitFor();
    await page.locator('ul.fields li p.muted', { hasText: 'cf.team · Single select · options: core, web' }).waitFor();
    await axe(page, 'fields');
    await screenshot(page, '22-fields');

    // A member who is not an owner sees the fields, read-only.
    // (Not 'networkidle': the inbox stream is always open.) Once the project,
    // and so Bob's role, has loaded, nothing an owner sees may show.
    const projectLoaded = bob.page.waitForResponse((r) => r.url().endsWith('/tasktracker.v1.ProjectService/GetProject'));
    await bob.page.goto(`${projectUrl}/fields`);
    await bob.page.getByRole('heading', { name: 'Team' }).waitFor();
    await projectLoaded;
    await bob.page.waitForTimeout(300);
    assert.equal(await bob.page.getByRole('button', { name: 'Save' }).count(), 0);
    assert.equal(await bob.page.getByRole('heading', { name: 'Add a field' }).count(), 0);
  });

  await step('custom fields on the task page: a bad value is refused on its input; values saved show on the card', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Plan release' }).click();
    const group = page.getByRole('group', { name: 'Custom fields' });
    await group.getByLabel('Estimate').waitFor();
    await group.getByLabel('Estimate').fill('2');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.toast', { hasText: 'Saved.' }).first().waitFor();

    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Made by Bob' }).click();
    await group.getByLabel('Estimate').waitFor();
    await group.getByLabel('Team').locator('option', { hasText: 'core' }).waitFor({ state: 'attached' });
    assert.deepEqual(await group.getByLabel('Team').locator('option').allInnerTexts(), ['None', 'core', 'web']);
    await group.getByLabel('Estimate').fill('500');
    let saved = page.waitForResponse((r) => r.url().endsWith('/UpdateTask'));
    await page.getByRole('button', { name: 'Save changes' }).click();
    await saved;
    const valueError = page.locator('#cf-estimate-error[role="alert"]');
    await valueError.waitFor();
    assert.equal(await group.getByLabel('Estimate').getAttribute('aria-describedby'), 'cf-estimate-error');
    await group.getByLabel('Estimate').fill('5');
    await group.getByLabel('Team').focus();
    await page.keyboard.press('ArrowDown'); // core
    saved = page.waitForResponse((r) => r.url().endsWith('/UpdateTask'));
    await page.getByRole('button', { name: 'Save changes' }).click();
    const request = (await saved).request().postDataBuffer().toString('latin1');
    assert.match(request, /custom_fields\.estimate/);
    assert.match(request, /custom_fields\.team/);
    await page.locator('.toast', { hasText: 'Saved.' }).first().waitFor();
    assert.equal(await valueError.count(), 0);
    await axe(page, 'task-custom-fields', '#custom-fields');
    await axe(page, 'task-with-custom-fields');
    await screenshot(page, '23-task-custom-fields');
    await page.reload();
    await group.getByLabel('Estimate').waitFor();
    await page.waitForFunction(() => document.querySelector('#cf-estimate')?.value === '5');
    await page.waitForFunction(() => document.querySelector('#cf-team')?.value === 'core');

    await page.goto(`${projectUrl}?view=board`);
    await card(page, 'Made by Bob').filter({ hasText: 'Estimate: 5' }).waitFor();
    await card(page, 'Plan release').filter({ hasText: 'Estimate: 2' }).waitFor();
    assert.equal(await card(page, 'Made by Bob').filter({ hasText: 'Team:' }).count(), 0, 'Team is not shown on cards');
    await screenshot(page, '24-board-custom-fields');
  });

  await step('the list\'s field filter: cf.estimate >= 3 matches one task; a bad filter is explained on the input', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    const filter = page.getByLabel('Field filter');
    await filter.fill('cf.estimate >= 3');
    await filter.press('Enter');
    await expectRows(page, ['Made by Bob']);
    await filter.fill('cf.team = "core" OR cf.estimate < 3');
    await filter.press('Enter');
    await expectRows(page, ['Made by Bob', 'Plan release']);
    await filter.fill('cf.nope = 1');
    await filter.press('Enter');
    const error = page.locator('#filter-custom-error[role="alert"]');
    await error.waitFor();
    assert.match(await error.innerText(), /nope/);
    assert.equal(await filter.getAttribute('aria-invalid'), 'true');
    assert.equal(await filter.getAttribute('aria-describedby'), 'filter-custom-error');
    await axe(page, 'task-list-field-filter-error');
    await screenshot(page, '25-field-filter-error');
    await filter.fill('');
    await filter.press('Enter');
    await error.waitFor({ state: 'detached' });
    assert.equal(await filter.getAttribute('aria-invalid'), null);
    assert.ok((await rowTitles(page)).includes('Made by Bob'));
  });

  await step('custom fields of every other type: text, date, multi select, person and checkbox values are saved, read back and cleared', async () => {
    const { page } = ada;
    await page.goto(`${projectUrl}/fields`);
    await page.locator('#new-field-key').waitFor();
    const add = async (key, type, name, options) => {
      await page.locator('#new-field-key').fill(key);
      await page.locator('#new-field-type').selectOption({ label: type });
      await page.locator('#new-field-display_name').fill(name);
      if (options) await page.locator('#new-field-options').fill(options);
      await page.getByRole('button', { name: 'Add field' }).click();
      await page.locator('.toast', { hasText: `Added “${name}”.` }).waitFor();
    };
    await add('notes', 'Text', 'Notes');
    await add('launch', 'Date', 'Launch');
    await add('tags', 'Multi select', 'Tags', 'ui\napi\ndb');
    await add('reviewer', 'Person', 'Reviewer');
    await add('blocked', 'Checkbox', 'Blocked');

    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Made by Bob' }).click();
    const group = page.getByRole('group', { name: 'Custom fields' });
    const tags = group.getByRole('group', { name: 'Tags' });
    const reviewer = group.getByLabel('Reviewer');
    await group.getByLabel('Notes').waitFor();
    await group.getByLabel('Notes').fill('Call ACME');
    await group.getByLabel('Launch').fill('2027-01-15');
    await tags.getByLabel('db').check();
    await tags.getByLabel('ui').check();
    await reviewer.locator('option', { hasText: 'Bob' }).waitFor({ state: 'attached' });
    await reviewer.selectOption({ label: 'Bob' });
    await group.getByLabel('Blocked').check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.toast', { hasText: 'Saved.' }).first().waitFor();
    await axe(page, 'task-custom-fields-all-types', '#custom-fields');
    await screenshot(page, '26-task-custom-fields-all-types');

    await page.reload();
    await group.getByLabel('Notes').waitFor();
    await page.waitForFunction(() => document.querySelector('#cf-notes')?.value === 'Call ACME');
    assert.equal(await group.getByLabel('Launch').inputValue(), '2027-01-15');
    assert.deepEqual(
      await Promise.all(['ui', 'api', 'db'].map((option) => tags.getByLabel(option).isChecked())),
      [true, false, true],
    );
    await page.waitForFunction(() => document.querySelector('#cf-reviewer')?.selectedOptions[0]?.textContent === 'Bob');
    assert.equal(await group.getByLabel('Blocked').isChecked(), true);
    assert.equal(await group.getByLabel('Estimate').inputValue(), '5', 'the other values stay');

    // Blank or unticked controls clear their values.
    await group.getByLabel('Notes').fill('');
    await group.getByLabel('Blocked').uncheck();
    await tags.getByLabel('ui').uncheck();
    await tags.getByLabel('db').uncheck();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.toast', { hasText: 'Saved.' }).first().waitFor();
    await page.reload();
    await group.getByLabel('Notes').waitFor();
    await page.waitForFunction(() => document.querySelector('#cf-reviewer')?.selectedOptions[0]?.textContent === 'Bob');
    assert.equal(await group.getByLabel('Notes').inputValue(), '');
    assert.equal(await group.getByLabel('Blocked').isChecked(), false);
    assert.equal(await tags.getByLabel('db').isChecked(), false);
    assert.equal(await group.getByLabel('Launch').inputValue(), '2027-01-15');
  });

  await step('fields: an option in use cannot be removed, nor a stale version saved (the refusals show by the form); a field is deleted after an inline confirm', async () => {
    const { page } = ada;
    await page.goto(`${projectUrl}/fields`);
    const team = page.locator('ul.fields li', { has: page.getByRole('heading', { name: 'Team' }) });
    await team.getByLabel('Options (one per line)').fill('web');
    await team.getByRole('button', { name: 'Save' }).click();
    const refusal = team.locator('.field-error[role="alert"]');
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /^Not possible: /);
    await team.getByLabel('Options (one per line)').fill('core\nweb\nops');
    await team.getByLabel('Show on board cards').check();
    await team.getByRole('button', { name: 'Save' }).click();
    await page.locator('.toast', { hasText: 'Saved “Team”.' }).waitFor();
    await team.locator('p.muted', { hasText: 'options: core, web, ops · shown on cards' }).waitFor();
    assert.equal(await refusal.count(), 0);

    // A stale edit (the field was changed in another tab) is refused (ABORTED), said by the form.
    const other = await ada.context.newPage();
    await other.goto(`${projectUrl}/fields`);
    const otherEstimate = other.locator('ul.fields li', { has: other.getByRole('heading', { name: 'Estimate' }) });
    await otherEstimate.getByLabel('Display name').fill('Points');
    await otherEstimate.getByRole('button', { name: 'Save' }).click();
    await other.locator('.toast', { hasText: 'Saved “Points”.' }).waitFor();
    await other.close();
    const estimate = page.locator('ul.fields li', { has: page.getByRole('heading', { name: 'Estimate' }) });
    await estimate.getByLabel('Maximum (blank: none)').fill('50');
    await estimate.getByRole('button', { name: 'Save' }).click();
    await estimate.locator('.field-error[role="alert"]', { hasText: 'Someone else changed this' }).waitFor();

    await team.getByRole('button', { name: 'Delete Team' }).click();
    const confirm = team.getByRole('button', { name: 'Delete for good' });
    await confirm.waitFor();
    await page.waitForFunction(() => document.activeElement?.textContent === 'Delete for good');
    await page.keyboard.press('Enter');
    await page.locator('.toast', { hasText: /Deleted “Team”; 1 task/ }).waitFor();
    await team.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Points' }).waitFor();
  });

  await step('webhooks: the owner adds one (a bad URL is shown on its input), a task change is delivered signed and logged, Redeliver sends it again', async () => {
    const { page } = ada;
    const received = [];
    const receiver = createServer((request, response) => {
      const chunks = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.end('ok');
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
    const waitReceived = async (count) => {
      const deadline = Date.now() + 10_000;
      while (received.length < count && Date.now() < deadline) await page.waitForTimeout(100);
      assert.equal(received.length, count, 'deliveries received');
    };
    try {
      await page.goto(projectUrl);
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
      await page.locator('p.muted', { hasText: 'No webhooks yet.' }).waitFor();
      const url = page.getByLabel('URL', { exact: true });
      await url.fill('ftp://example.com/hook');
      await page.getByRole('button', { name: 'Add webhook' }).click();
      const urlError = page.locator('#url-error[role="alert"]');
      await urlError.waitFor();
      assert.match(await url.getAttribute('aria-describedby'), /url-error/);
      await axe(page, 'webhooks-error');
      await url.fill(hookUrl);
      const events = page.getByRole('group', { name: /^Events/ });
      await events.getByLabel('Updated').check();
      await url.focus();
      await page.keyboard.press('Enter');
      const secretBox = page.locator('#webhook-secret');
      await secretBox.waitFor();
      const secret = await secretBox.inputValue();
      assert.match(secret, /^whsec_/);
      assert.equal(await urlError.count(), 0);
      const item = page.locator('ul.fields li', { has: page.getByRole('heading', { name: hookUrl }) });
      await item.locator('p.muted', { hasText: 'Updated' }).waitFor();

      // Pause and resume, by keyboard.
      await item.getByRole('button', { name: `Pause ${hookUrl}` }).focus();
      await page.keyboard.press('Enter');
      await item.locator('p.muted', { hasText: 'Updated · paused' }).waitFor();
      await item.getByRole('button', { name: `Resume ${hookUrl}` }).click();
      await item.getByRole('button', { name: `Pause ${hookUrl}` }).waitFor();

      // A task change (an update: the kind it wants) reaches the receiver, signed.
      await page.goto(projectUrl);
      await page.getByRole('link', { name: 'Plan release' }).click();
      await page.getByLabel(/^Description/).fill('Announced by webhook.');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.locator('.toast', { hasText: 'Saved.' }).first().waitFor();
      await waitReceived(1);
      const first = received[0];
      const expected = createHmac('sha256', secret).update(`${first.headers['tasktracker-timestamp']}.${first.body}`).digest('hex');
      assert.equal(first.headers['tasktracker-signature'], `v1=${expected}`);
      assert.equal(JSON.parse(first.body).type, 'task.updated');

      // The log shows it delivered; Redeliver sends the same event again.
      await page.goto(`${projectUrl}/webhooks`);
      const rows = item.locator('table.deliveries tbody tr');
      const refresh = item.getByRole('button', { name: 'Refresh deliveries' });
      const waitRows = async (count) => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const outcomes = await rows.locator('td.outcome').allInnerTexts();
          if (outcomes.length === count && outcomes.every((o) => o === 'delivered')) return;
          assert.ok(Date.now() < deadline, `log: ${JSON.stringify(outcomes)}`);
          await page.waitForTimeout(200);
          await refresh.click();
        }
      };
      await waitRows(1);
      assert.deepEqual((await rows.first().locator('td').allInnerTexts()).slice(1, 5), ['Updated', 'delivered', '200', '1']);
      await rows.first().getByRole('button', { name: /^Redeliver Updated of / }).focus();
      await page.keyboard.press('Enter');
      await page.locator('.toast', { hasText: 'Queued again.' }).waitFor();
      await waitReceived(2);
      assert.equal(received[1].headers['tasktracker-event-id'], first.headers['tasktracker-event-id']);
      assert.notEqual(received[1].headers['tasktracker-delivery'], first.headers['tasktracker-delivery']);
      await waitRows(2);
      await axe(page, 'webhooks');
      await screenshot(page, '28-webhooks');

      // A member who is not an owner has no link to the page.
      await bob.page.goto(projectUrl);
      await bob.page.getByRole('link', { name: 'Fields' }).waitFor();
      await bob.page.waitForTimeout(300);
      assert.equal(await bob.page.getByRole('link', { name: 'Webhooks' }).count(), 0);

      await item.getByRole('button', { name: `Delete ${hookUrl}` }).click();
      await page.locator('p.muted', { hasText: 'No webhooks yet.' }).waitFor();
    } finally {
      receiver.close();
    }
  });

  await step('single sign-on: the provider\'s button signs Dora in (keyboard), a new account', async () => {
    const dora = await newSession(browser, 'dora');
    const { page } = dora;
    await page.goto(`${baseUrl}/signin`);
    const button = page.getByRole('button', { name: 'Continue with Acme SSO' });
    await button.waitFor();
    await axe(page, 'sign-in-sso');
    await screenshot(page, '29-sign-in-sso');
    await button.focus();
    await page.keyboard.press('Enter');
    // To the provider and back to /oidc/callback, which completes the sign-in.
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    await page.locator('.who', { hasText: 'Dora Single' }).waitFor();
    // Coming back with a used state is refused with a message, not a crash.
    await page.goto(`${baseUrl}/oidc/callback?state=used&code=nothing`);
    await page.locator('#sso-error', { hasText: 'expired or was already used' }).waitFor();
    await dora.context.close();
  });

  await step('recurrence: a weekly task, completed, is followed by the next one; Skip makes the one after', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await createTask(page, 'Weekly report');
    await page.getByRole('link', { name: 'Weekly report' }).click();
    await page.getByLabel('Title').waitFor();
    await page.getByLabel('Due').fill('2027-01-05');
    const dated = page.waitForResponse((r) => r.url().endsWith('/UpdateTask'));
    await page.getByRole('button', { name: 'Save changes' }).click();
    assert.equal((await dated).status(), 200);
    // By keyboard: the rule's select, then Save.
    const repeat = page.getByLabel('Repeat', { exact: true });
    await repeat.focus();
    await repeat.selectOption({ label: 'Weekly' });
    assert.ok((await page.getByLabel('Time zone', { exact: true }).inputValue()).length > 0, 'the browser\'s zone by default');
    await page.getByRole('button', { name: 'Save recurrence' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('h2 .badge', { hasText: 'Repeats weekly' }).waitFor();
    await axe(page, 'task-recurrence');
    // Done: the next occurrence is made, listed, and opens.
    await page.getByLabel('State', { exact: true }).selectOption({ label: 'Done' });
    const completed = page.waitForResponse((r) => r.url().endsWith('/UpdateTask'));
    await page.getByRole('button', { name: 'Save changes' }).click();
    assert.equal((await completed).status(), 200);
    await page.locator('#task-heading + p', { hasText: /^Done ·/ }).waitFor();
    await page.reload();
    const listed = page.locator('ul.occurrences li');
    await listed.nth(1).waitFor();
    assert.equal(await listed.count(), 2);
    await listed.filter({ hasText: 'open' }).getByRole('link', { name: 'Weekly report' }).click();
    // This one only: saved through UpdateOccurrence (the series keeps its title).
    await page.getByLabel('this occurrence only').check();
    await page.getByLabel('Title').fill('Weekly report, short week');
    const only = page.waitForResponse((r) => r.url().endsWith('/UpdateOccurrence'));
    await page.getByRole('button', { name: 'Save changes' }).click();
    assert.equal((await only).status(), 200);
    await page.locator('#task-heading', { hasText: 'Weekly report, short week' }).waitFor();
    await page.getByRole('button', { name: 'Skip this one' }).click();
    await page.locator('.toast', { hasText: 'Skipped' }).first().waitFor();
    await page.locator('ul.occurrences li', { hasText: 'skipped' }).waitFor();
    assert.equal(await page.locator('ul.occurrences li').count(), 3);
    await screenshot(page, '40-recurrence');
  });

  await step('table: a header sorts both ways; rows picked by keyboard get a priority and a label at once, then go in one delete', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await createTask(page, 'Bulk one');
    await createTask(page, 'Bulk two');
    const titleHeader = page.locator('th button.sort', { hasText: 'Title' });
    await titleHeader.click();
    await page.locator('th[aria-sort="ascending"]', { hasText: 'Title' }).waitFor();
    await page.waitForTimeout(300);
    const ascending = await rowTitles(page);
    await titleHeader.click();
    await page.locator('th[aria-sort="descending"]', { hasText: 'Title' }).waitFor();
    await page.waitForTimeout(300);
    assert.deepEqual(await rowTitles(page), [...ascending].reverse());
    for (const title of ['Bulk one', 'Bulk two']) {
      await page.getByLabel(`Select “${title}”`).focus();
      await page.keyboard.press('Space');
    }
    const bulk = page.getByRole('form', { name: 'Bulk actions' });
    await bulk.getByText('2 selected').waitFor();
    await bulk.getByLabel('Priority').selectOption({ label: 'Urgent' });
    await bulk.getByLabel('Add label').fill('batch');
    const batch = page.waitForResponse((r) => r.url().endsWith('/BatchUpdateTasks'));
    await bulk.getByRole('button', { name: 'Apply' }).click();
    assert.equal((await batch).status(), 200);
    await page.locator('.toast', { hasText: '2 tasks updated.' }).waitFor();
    for (const title of ['Bulk one', 'Bulk two']) {
      const row = page.locator('table.tasks tbody tr', { hasText: title });
      await row.locator('.label', { hasText: 'batch' }).waitFor();
      await row.getByText('Urgent').waitFor();
    }
    await page.getByLabel('Select every task on this page').check();
    await bulk.getByText(/^\d+ selected$/).waitFor();
    await axe(page, 'task-table-bulk');
    await screenshot(page, '41-bulk');
    await page.getByLabel('Select every task on this page').uncheck();
    await bulk.waitFor({ state: 'detached' });
    for (const title of ['Bulk one', 'Bulk two']) await page.getByLabel(`Select “${title}”`).check();
    await bulk.getByRole('button', { name: 'Delete…' }).click();
    // Focus moves to the safe choice once the confirmation is shown (after the render).
    await page.waitForFunction(() => document.activeElement?.textContent === 'Keep them', null, { timeout: 5_000 });
    await bulk.getByRole('button', { name: 'Delete 2 tasks' }).click();
    await page.locator('.toast', { hasText: '2 tasks deleted.' }).waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll('table.tasks a[data-nav]')].some((a) => a.textContent.startsWith('Bulk ')));
  });

  await step('calendar: a task shows on its due day; dragged to another day, then moved a day by Alt+arrow, it is due there', async () => {
    const { page } = ada;
    await page.goto(projectUrl);
    await createTask(page, 'Calendar task');
    await page.getByRole('link', { name: 'Calendar task' }).click();
    const today = new Date().toISOString().slice(0, 10);
    await page.getByLabel('Due').fill(today);
    const dated = page.waitForResponse((r) => r.url().endsWith('/UpdateTask'));
    await page.getByRole('button', { name: 'Save changes' }).click();
    assert.equal((await dated).status(), 200);
    await page.goto(projectUrl);
    await page.getByRole('link', { name: 'Calendar' }).click();
    const chip = page.locator('table.calendar a', { hasText: 'Calendar task' });
    await chip.waitFor();
    const cells = page.locator('table.calendar tbody td');
    const cellOf = () => chip.evaluate((a) => [...document.querySelectorAll('table.calendar tbody td')].indexOf(a.closest('td')));
    const start = await cellOf();
    // The first day of the page, or the second if the task is due on it.
    const target = start === 0 ? 1 : 0;
    const dragged = page.waitForResponse((r) => r.url().endsWith('/UpdateTask'));
    await chip.dragTo(cells.nth(target));
    assert.equal((await dragged).status(), 200);
    await cells.nth(target).locator('a', { hasText: 'Calendar task' }).waitFor();
    await chip.focus();
    const stepped = page.waitForResponse((r) => r.url().endsWith('/UpdateTask'));
    await page.keyboard.press('Alt+ArrowRight');
    assert.equal((await stepped).status(), 200);
    await cells.nth(target + 1).locator('a', { hasText: 'Calendar task' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id?.startsWith('due-'));
    await page.reload();
    await cells.nth(target + 1).locator('a', { hasText: 'Calendar task' }).waitFor();
    await page.getByRole('button', { name: 'Week' }).click();
    await page.locator('table.calendar tbody tr').first().waitFor();
    assert.equal(await page.locator('table.calendar tbody tr').count(), 1);
    await axe(page, 'calendar');
    await screenshot(page, '42-calendar');
  });

  await step('usable at 360 px: no horizontal scrolling', async () => {
    const small = await newSession(browser, 'small', { width: 360, height: 740 });
    const session = await ada.context.storageState();
    await small.context.addInitScript((storage) => {
      for (const [key, value] of storage) window.localStorage.setItem(key, value);
    }, session.origins.find((o) => o.origin === baseUrl).localStorage.map((e) => [e.name, e.value]));
    const pages = [['11-list-360', projectUrl, '#new-task-title'], ['12-board-360', `${projectUrl}?view=board`, '#new-task-title'],
      ['16-workflow-360', `${projectUrl}/workflow`, '#new-state-name'], ['27-fields-360', `${projectUrl}/fields`, '#new-field-key']];
    for (const [name, url, ready] of pages) {
      await small.page.goto(url);
      await small.page.locator(ready).waitFor();
      await small.page.waitForTimeout(500);
      const width = await small.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `${name}: page is ${width}px wide`);
      await screenshot(small.page, name);
    }
    await small.context.close();
  });

  await step('no console errors', async () => {
    assert.deepEqual(consoleErrors, []);
  });
} catch {
  failed = true;
} finally {
  writeFileSync(join(artifacts, 'axe.json'), JSON.stringify(axeReport, null, 2));
  await browser.close();
  await server.stop();
}
const passed = results.filter((r) => r.ok).length;
console.log(`web e2e: ${passed} passed, ${results.length - passed} failed; artefacts in ${artifacts}`);
if (consoleErrors.length) console.log(`console errors:\n  ${consoleErrors.join('\n  ')}`);
process.exit(failed ? 1 : 0);
