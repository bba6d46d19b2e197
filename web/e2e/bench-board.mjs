// Time to first render of a 5,000-task board in headless Chromium: signs up
// through the UI, seeds 5,000 tasks straight into the fresh database (the API
// would take minutes), then loads the board cold and reports when the first
// page of every column is on screen. Run: scripts/web-test.sh --bench, or
// node web/e2e/bench-board.mjs after building dist/ and the server.
import { launchBrowser, psql, startServer } from './harness.mjs';

const TASKS = Number(process.env.BENCH_TASKS || 5000);
const RUNS = Number(process.env.BENCH_RUNS || 5);

const server = await startServer();
const browser = await launchBrowser();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.baseUrl}/signup`);
  await page.getByLabel('Your name').fill('Bench');
  await page.getByLabel('Email').fill('bench@example.com');
  await page.getByLabel(/^Password/).fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByLabel('Title').fill('Big board');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.locator('#new-task-title').waitFor();
  const project = new URL(page.url()).pathname.split('/')[2];
  const user = await page.evaluate(() => JSON.parse(localStorage.getItem('tasktracker.session')).user.split('/')[1]);
  // Same columns the server writes (migrations/src/m20261124_000001_initial.rs); times in µs.
  psql(
    server.database,
    `INSERT INTO tasks (id, project_id, title, description, status, priority, position, creator_id,
                        create_time, update_time, version)
     SELECT gen_random_uuid()::text, '${project}', 'Task ' || i, 'Seeded for the benchmark', 1 + i % 3, i % 5,
            i * 1024, '${user}', (extract(epoch from now()) * 1e6)::bigint, (extract(epoch from now()) * 1e6)::bigint, 1
     FROM generate_series(1, ${TASKS}) AS i`,
  );
  const url = `${server.baseUrl}/projects/${project}?view=board`;
  const timings = [];
  for (let run = 0; run < RUNS; run++) {
    const fresh = await context.newPage();
    await fresh.goto(url, { waitUntil: 'commit' });
    await fresh.waitForFunction(() => [0, 1, 2].every((c) => document.querySelector(`ul[data-column="${c}"] .task-card`)), null, {
      timeout: 30_000,
      polling: 'raf',
    });
    timings.push(await fresh.evaluate(() => performance.now()));
    const cards = await fresh.locator('.task-card').count();
    if (run === 0) console.log(`board shows ${cards} of ${TASKS} tasks (one page per column)`);
    await fresh.close();
  }
  timings.sort((a, b) => a - b);
  console.log(`time to first render of a ${TASKS}-task board: median ${timings[Math.floor(timings.length / 2)].toFixed(0)} ms (runs: ${timings.map((t) => t.toFixed(0)).join(', ')} ms)`);
} finally {
  await browser.close();
  await server.stop();
}
