// The caseworker's path in real headless Chromium: sign in, register a person, look at
// the person as of an earlier date, agree co-operation duties and record one failed, create a
// household, submit an application with its declaration (an amount typed wrong first, to
// see the inline validation), and read the decision with its explanation.
// Last, an auditor replays the household's decisions in one step.
// Environment: GW_URL, GW_LOGIN, GW_AUDITOR (same password), GW_PASSWORD, GW_SHOTS (screenshot directory),
// GW_PERSONAL_CODE, CHROMIUM (default /usr/bin/chromium). Exit 0 when every step held.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const url = process.env.GW_URL;
const shots = process.env.GW_SHOTS;
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // root in a container has no user namespaces for the sandbox
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const fail = async (msg) => { console.error('FAIL: ' + msg); await browser.close(); process.exit(1); };
const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: 'lv-LV' });
page.setDefaultTimeout(20000);
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
// Expected refusals are not errors: the session probe before signing in (401) and the
// decision polled before means testing has made it (404). Anything else is.
page.on('response', (r) => {
  const u = new URL(r.url());
  const expected = (r.status() === 401 && u.pathname === '/api/v1/session') ||
                   (r.status() === 404 && u.pathname.endsWith('/decisions'));
  if (r.status() >= 400 && !expected) errors.push(`${r.status()} ${u.pathname}`);
});
page.on('console', (m) => {
  if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
});
// long pages (the decision) are shot as the screen shows them, to keep the files small
const shot = (name, fullPage = true) => page.screenshot({ path: `${shots}/${name}.png`, fullPage });

await page.goto(url + '/');
await page.getByLabel('Lietotājvārds').fill(process.env.GW_LOGIN);
await page.getByLabel('Parole').fill(process.env.GW_PASSWORD);
await shot('01-sign-in');
await page.getByRole('button', { name: 'Pieteikties' }).click();
await page.getByRole('heading', { name: 'Meklēt personu' }).waitFor();
await shot('02-search');

// register the applicant, with a declared residence in the municipality
await page.getByRole('link', { name: 'Reģistrēt personu' }).first().click();
await page.getByLabel('Vārds', { exact: true }).fill('Anna');
await page.getByLabel('Uzvārds', { exact: true }).fill('Bērziņa');
await page.getByLabel('Personas kods').fill(process.env.GW_PERSONAL_CODE);
await page.getByLabel('Dzimums').selectOption('female');
await page.getByLabel('Deklarētā dzīvesvieta pašvaldībā kopš').fill('2015-01-01');
await page.getByLabel('Adrese').fill('Skolas iela 1, Tērvete');
await page.getByRole('button', { name: 'Reģistrēt' }).click();
await page.getByRole('heading', { name: 'Anna Bērziņa' }).waitFor();
const personUrl = page.url();

// the person as of a date: the residence is in force today, not before 2015
const inForce = () => page.locator('h2:has-text("Spēkā esošie fakti") + table tbody tr').count();
await page.getByRole('heading', { name: 'Maksājumi' }).waitFor();
if ((await inForce()) !== 1) await fail('the residence is not in force today');
await page.getByLabel('Stāvoklis uz datumu').fill('2014-12-31');
await page.getByRole('button', { name: 'Rādīt' }).click();
await page.getByRole('heading', { name: 'Spēkā esošie fakti (2014-12-31)' }).waitFor();
if ((await inForce()) !== 0) await fail('a fact is in force before it began');
if ((await page.locator('h2:has-text("Visi ierakstītie fakti") + table tbody tr').count()) !== 1)
  await fail('the history does not list the residence');
await shot('08-person-as-of');

// co-operation duties, and the outcome of one: not fulfilled
await page.getByRole('link', { name: 'Līdzdarbības pienākumi' }).click();
// due a month after signing (today)
await page.getByLabel('Termiņš').fill(new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10));
await page.getByRole('button', { name: 'Saglabāt' }).click();
await page.getByRole('heading', { name: 'Pienākuma izpilde' }).waitFor()
  .catch(async () => { await shot('failure'); await fail('no outcome page: ' + (await page.locator('main').innerText())); });
await page.getByLabel('Pienākuma izpilde').selectOption('false');
await page.getByLabel('Piezīme').fill('nav reģistrējusies NVA');
await page.getByRole('button', { name: 'Saglabāt' }).click();
await page.getByText('Izpilde ierakstīta.').waitFor();
await shot('09-duty-outcome');
await page.goto(personUrl);
await page.getByRole('heading', { name: 'Anna Bērziņa' }).waitFor();
// the duties page lists the duty with the outcome just recorded
await page.getByRole('link', { name: 'Pienākumi un to izpilde' }).click();
await page.getByRole('heading', { name: 'Pienākumi un to izpilde' }).waitFor();
if ((await page.locator('tr.fail').count()) !== 1) await fail('the failed duty is not listed as failed');
await shot('10-duties');
await page.goto(personUrl);
await page.getByRole('heading', { name: 'Anna Bērziņa' }).waitFor();

// the household, the applicant alone
await page.getByRole('link', { name: 'Izveidot mājsaimniecību' }).click();
await page.getByRole('heading', { name: 'Izveidot mājsaimniecību' }).waitFor();
// the rule sets in the log are in force up to 2020-12-31: the case is one of 2020
await page.getByLabel('Kopš').fill('2020-01-01');
await page.getByRole('button', { name: 'Izveidot' }).click();
await page.getByRole('heading', { name: 'Mājsaimniecība' }).waitFor();
await page.getByRole('cell', { name: 'Bērziņa' }).waitFor();
await shot('03-household');

// the application with its declaration
await page.getByRole('link', { name: 'Jauns iesniegums' }).click();
await page.getByRole('heading', { name: 'Jauns iesniegums' }).waitFor();
await page.getByLabel('Saņemts').fill('2020-11-16');
await page.getByLabel('Saņemts').dispatchEvent('change');
if ((await page.getByLabel('Mēnesis').first().inputValue()) !== '2020-08') await fail('the months do not follow the date');
const amounts = page.getByLabel('Summa, EUR');
if ((await amounts.count()) !== 3) await fail('expected three months of income for one member');
await amounts.nth(0).fill('120 eiro');
await amounts.nth(1).fill('130,00');
await amounts.nth(2).fill('125.50');
await page.getByRole('button', { name: 'Iesniegt un nodot lēmumam' }).click();
// inline validation: the wrong amount is marked and named, nothing was sent
await page.getByText('Summa jāraksta eiro').waitFor();
if ((await amounts.nth(0).getAttribute('aria-invalid')) !== 'true') await fail('the wrong amount is not marked');
await shot('04-application-validation');
await amounts.nth(0).fill('120');
await page.getByLabel('Mājokļa izdevumi mēnesī, EUR').fill('95,00');
await shot('05-application');
await page.getByRole('button', { name: 'Iesniegt un nodot lēmumam' }).click();

// the decision, made by means testing from intake's event, with its explanation
await page.getByRole('heading', { name: 'Pamatojums soli pa solim' }).first().waitFor({ timeout: 30000 })
  .catch(async () => { await shot('failure'); await fail('no explanation: ' + (await page.locator('main').innerText())); });
const steps = await page.locator('ol.steps > li').count();
if (steps < 3) await fail(`only ${steps} explanation steps`);
const legal = await page.locator('ul.reads li').count();
if (legal < 1) await fail('no legal references in the explanation');
await shot('06-decision', false);

// English on request
await page.getByRole('button', { name: 'Language / Valoda' }).click();
await page.getByRole('heading', { name: 'Explanation step by step' }).first().waitFor();
await shot('07-decision-en', false);

// the person's statuses: one row per granted decision; the household lists the application
const granted = await page.locator('section.decision h2 span.ok').count();
await page.goto(personUrl);
await page.getByRole('heading', { name: 'Statuses and benefits' }).waitFor();
const statusRows = await page.locator('table.statuses tbody tr').count();
if (statusRows !== granted) await fail(`${granted} decisions granted, ${statusRows} statuses listed`);
await shot('11-person-statuses');
await page.locator('a[href^="#/household/"]').first().click();
await page.getByRole('heading', { name: 'Applications' }).waitFor();
if ((await page.locator('h2:has-text("Applications") + table tbody tr').count()) !== 1)
  await fail('the household does not list its application');
if ((await page.getByRole('link', { name: 'Audit replay of the household' }).count()) !== 0)
  await fail('a social worker is offered the replay');
const householdUrl = page.url();

// the auditor replays every decision of the household in one step
await page.getByRole('button', { name: 'Sign out' }).click();
await page.getByLabel('Login').fill(process.env.GW_AUDITOR);
await page.getByLabel('Password').fill(process.env.GW_PASSWORD);
await page.getByRole('button', { name: 'Sign in' }).click();
await page.getByRole('heading', { name: 'Find a person' }).waitFor();
await page.locator('#tenant').selectOption('tervete');
await page.goto(householdUrl);
await page.getByRole('link', { name: 'Audit replay of the household' }).click();
await page.getByRole('heading', { name: 'Audit replay of the household' }).waitFor();
if ((await page.locator('#replay-summary').innerText()) !== 'Proven: the decision rebuilds from the log')
  await fail('the household replay is not proven: ' + (await page.locator('main').innerText()));
if ((await page.locator('main table tbody td.ok').count()) !== 1) await fail('the application was not replayed');
await shot('12-household-replay');

if (errors.length) await fail('errors in the page: ' + errors.join('; '));
await browser.close();
console.log(`ok: decision with ${steps} steps and ${legal} legal references, ${statusRows} statuses; node ${process.version}; screenshots in ${shots}`);
