// The caseworker's pages: one module, no build step, no framework. Every page is built from
// the JSON API with DOM calls (never innerHTML with data), so no value can inject markup.
import { t, toggleLang, currentLang } from './i18n.js';

let me = null;          // the signed-in user: {login, display_name, grants, csrf_token}
let tenant = null;      // the municipality the pages work in

// ---- helpers -----------------------------------------------------------------------------

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else if (k === 'style') e.style.cssText = v;   // CSSOM: allowed by the CSP, a style attribute is not
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function say(msg) { document.getElementById('status').textContent = msg; }

function today() { return new Date().toISOString().slice(0, 10); }

function monthsBefore(dateStr, n) {
  const d = new Date(dateStr + 'T00:00:00Z');
  const out = [];
  for (let i = n; i >= 1; i--) {
    const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
    out.push(m.toISOString().slice(0, 7));
  }
  return out;
}

function euros(cents) {
  const sign = cents < 0 ? '-' : '';
  const a = Math.abs(cents);
  return sign + Math.floor(a / 100) + (currentLang() === 'lv' ? ',' : '.') + String(a % 100).padStart(2, '0');
}

// Euros as the caseworker types them ("310,25", "310.25", "310") into integer cents;
// null when it is not an amount. Integer arithmetic only: money is never a float.
function cents(text) {
  const m = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(text || '');
  if (!m) return null;
  return parseInt(m[1], 10) * 100 + (m[2] ? parseInt(m[2].padEnd(2, '0'), 10) : 0);
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || ('HTTP ' + status));
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && me) headers['X-CSRF-Token'] = me.csrf_token;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                credentials: 'same-origin' });
  const j = await r.json().catch(() => null);
  if (r.status === 401 && path !== '/api/v1/session') {
    me = null;
    location.hash = '#/signin';
  }
  if (!r.ok) throw new ApiError(r.status, j);
  return j;
}

const T = (p) => `/api/v1/t/${encodeURIComponent(tenant)}${p}`;

// An error box for a refused call; the field it names is marked on the form.
function showError(form, err) {
  const box = form.querySelector('.form-error');
  const e = (err.body && err.body.error) || { message: err.message };
  box.textContent = '';
  box.append(h('strong', {}, t('error') + ': ' + e.message), e.detail ? h('div', {}, e.detail) : null,
             e.hint ? h('div', {}, e.hint) : null);
  if (e.field) {
    const input = form.querySelector(`[data-field="${CSS.escape(e.field)}"]`);
    if (input) markInvalid(input, e.message);
  }
  box.focus();
}

function markInvalid(input, msg) {
  input.setAttribute('aria-invalid', 'true');
  let note = document.getElementById(input.id + '-err');
  if (!note) {
    note = h('span', { id: input.id + '-err', class: 'field-error' });
    input.after(note);
    input.setAttribute('aria-describedby', note.id);
  }
  note.textContent = msg;
}

function clearInvalid(form) {
  form.querySelectorAll('[aria-invalid]').forEach((i) => i.removeAttribute('aria-invalid'));
  form.querySelectorAll('.field-error').forEach((n) => { n.textContent = ''; });
}

let uid = 0;
function field(label, attrs) {
  const id = 'f' + (++uid);
  const input = attrs.tag === 'select'
    ? h('select', { id, name: attrs.name, 'data-field': attrs.field || attrs.name, required: attrs.required },
        (attrs.options || []).map(([v, l]) => h('option', { value: v, selected: v === attrs.value }, l)))
    : h('input', { id, name: attrs.name, type: attrs.type || 'text', value: attrs.value, required: attrs.required,
                   'data-field': attrs.field || attrs.name, autocomplete: attrs.autocomplete || 'off',
                   inputmode: attrs.inputmode, max: attrs.max, size: attrs.size });
  return h('div', { class: 'fieldbox' }, h('label', { for: id }, label), input);
}

function page(title, ...kids) {
  const main = document.getElementById('main');
  main.textContent = '';
  document.title = title + ' · atbalsts';
  main.append(h('h1', { tabindex: '-1' }, title), ...kids.flat(2).filter((k) => k !== null && k !== undefined && k !== false));
  main.querySelector('h1').focus();
}

function form(onsubmit, ...kids) {
  const f = h('form', { novalidate: true }, h('div', { class: 'form-error error', tabindex: '-1', role: 'alert' }),
              ...kids);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearInvalid(f);
    f.querySelector('.form-error').textContent = '';
    // inline validation: required fields first, before anything is sent
    let first = null;
    f.querySelectorAll('[required]').forEach((i) => {
      if (!i.value.trim()) { markInvalid(i, t('required')); first = first || i; }
    });
    if (first) { first.focus(); return; }
    const btn = f.querySelector('button[type=submit]');
    btn.disabled = true;
    try { await onsubmit(f); } catch (err) { showError(f, err); } finally { btn.disabled = false; }
  });
  return f;
}

const val = (f, name) => f.querySelector(`[name="${name}"]`).value.trim();

// ---- chrome --------------------------------------------------------------------------------

function chrome() {
  document.documentElement.lang = currentLang();
  document.getElementById('skip').textContent = t('skip');
  document.getElementById('lang').textContent = currentLang() === 'lv' ? 'English' : 'Latviski';
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('nav'));
  nav.textContent = '';
  const who = document.getElementById('who');
  who.textContent = '';
  if (!me) return;
  const links = [['#/search', t('search')], ['#/person/new', t('new_person')], ['#/waiting', t('waiting_list')],
                 ['#/payments', t('payments')], ['#/reports', t('reports')], ['#/access-log', t('access_log')]];
  nav.append(h('ul', {}, links.map(([href, l]) => h('li', {}, h('a', { href }, l)))));
  const sel = h('select', { id: 'tenant', 'aria-label': t('municipality') },
                me.grants.map((g) => h('option', { value: g.tenant, selected: g.tenant === tenant },
                                       `${g.tenant} (${g.role})`)));
  sel.addEventListener('change', () => { tenant = sel.value; route(); });
  who.append(h('span', {}, t('signed_in_as') + ' ' + (me.display_name || me.login) + ' · '), sel, ' ',
             h('button', { type: 'button', class: 'secondary', onclick: signOut }, t('signout')));
  document.getElementById('foot').textContent = tenant;
}

async function signOut() {
  try { await api('DELETE', '/api/v1/session'); } catch (e) { /* the session may have ended already */ }
  me = null;
  location.hash = '#/signin';
}

// ---- pages ---------------------------------------------------------------------------------

function signinPage() {
  page(t('signin'), form(async (f) => {
    me = await api('POST', '/api/v1/session', { login: val(f, 'login'), password: f.querySelector('[name=password]').value });
    tenant = me.grants.length ? me.grants[0].tenant : null;
    location.hash = '#/search';
  }, field(t('login'), { name: 'login', required: true, autocomplete: 'username' }),
     field(t('password'), { name: 'password', type: 'password', required: true, autocomplete: 'current-password' }),
     h('p', {}, h('button', { type: 'submit' }, t('signin')))));
}

function searchPage() {
  const results = h('div', { 'aria-live': 'polite' });
  page(t('search'), form(async (f) => {
    const q = new URLSearchParams();
    if (val(f, 'family_name')) q.set('family_name', val(f, 'family_name'));
    if (val(f, 'personal_code')) q.set('personal_code', val(f, 'personal_code'));
    const r = await api('GET', T('/persons?' + q));
    results.textContent = '';
    if (!r.persons.length) { results.append(h('p', {}, t('none_found'))); return; }
    results.append(h('table', {}, h('thead', {}, h('tr', {}, [t('family_name'), t('given_name'), t('personal_code'),
                                                             t('birth_date')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, r.persons.map((p) => h('tr', {},
        h('td', {}, h('a', { href: '#/person/' + p.person_key }, p.family_name)), h('td', {}, p.given_name),
        h('td', {}, p.personal_code), h('td', {}, p.birth_date || ''))))));
  }, h('div', { class: 'row' }, field(t('family_name'), { name: 'family_name', field: 'family_name' }),
       field(t('personal_code'), { name: 'personal_code' }), h('button', { type: 'submit' }, t('find')))),
  results, h('p', {}, h('a', { href: '#/person/new' }, t('new_person'))));
}

function newPersonPage() {
  page(t('new_person'), form(async (f) => {
    const body = { personal_code: val(f, 'personal_code'), given_name: val(f, 'given_name'),
                   family_name: val(f, 'family_name'), birth_date: val(f, 'birth_date') || null,
                   sex: val(f, 'sex') || null };
    const r = await api('POST', T('/persons'), body);
    if (val(f, 'residence_since')) {
      await api('POST', T(`/persons/${r.key}/facts`), {
        fact: { kind: 'residence', from: val(f, 'residence_since'), municipality: tenant },
        address: val(f, 'address') });
    }
    location.hash = '#/person/' + r.key;
  }, field(t('given_name'), { name: 'given_name', required: true }),
     field(t('family_name'), { name: 'family_name', required: true }),
     field(t('personal_code'), { name: 'personal_code', required: true }),
     field(t('birth_date'), { name: 'birth_date', type: 'date', max: today() }),
     field(t('sex'), { tag: 'select', name: 'sex', required: true, options: [['', '—'], ['female', t('female')], ['male', t('male')]] }),
     field(t('residence_since'), { name: 'residence_since', type: 'date', max: today(), field: 'fact.from' }),
     field(t('address'), { name: 'address' }),
     h('p', {}, h('button', { type: 'submit' }, t('register')))));
}

// A fact is in force on a date when it covers the date and no later fact corrected it.
function inForce(f, date) {
  return !f.corrected_by && f.fact.from <= date && (!f.fact.to || f.fact.to >= date);
}

function factRows(list) {
  return h('table', {}, h('thead', {}, h('tr', {}, [t('facts'), t('period'), '', t('address'), '']
    .map((x) => h('th', { scope: 'col' }, x)))),
  h('tbody', {}, list.map((f) => h('tr', {},
    h('td', {}, f.fact.kind), h('td', {}, (f.fact.from || '') + ' … ' + (f.fact.to || '')),
    h('td', {}, f.fact.municipality || f.fact.flag || f.fact.employment || f.fact.level || ''),
    h('td', {}, f.address || ''), h('td', {}, f.corrected_by ? t('corrected') : '')))));
}

// The person as of a date (today when none): the facts in force then, the household then,
// and below it the whole history of facts and the payments.
async function personPage(key, asOf) {
  const date = asOf || today();
  const p = await api('GET', T('/persons/' + key));
  const hv = p.household_key
    ? await api('GET', T(`/households/${p.household_key}?as_of=${encodeURIComponent(date)}`)).catch(() => null) : null;
  const pay = await api('GET', T(`/persons/${key}/payments`)).catch(() => null);
  const st = await api('GET', T(`/persons/${key}/statuses`)).catch(() => null);
  const cs = await api('GET', T(`/persons/${key}/cases`)).catch(() => null);
  const facts = p.facts || [];
  page(`${p.given_name} ${p.family_name}`,
       form(async (f) => { location.hash = `#/person/${key}/${val(f, 'as_of')}`; },
            h('div', { class: 'row' }, field(t('as_of'), { name: 'as_of', type: 'date', value: date }),
              h('button', { type: 'submit' }, t('show')))),
       h('dl', {}, h('dt', {}, t('personal_code')), h('dd', {}, p.personal_code),
         h('dt', {}, t('birth_date')), h('dd', {}, p.birth_date || ''),
         h('dt', {}, t('household')), h('dd', {}, p.household_key
           ? h('a', { href: `#/household/${p.household_key}/${date}` }, p.household_key)
           : h('a', { href: '#/household/new/' + key }, t('new_household')))),
       h('h2', {}, `${t('in_force')} (${date})`), factRows(facts.filter((f) => inForce(f, date))),
       hv ? [h('h2', {}, `${t('household_on')} ${hv.as_of || date}`), memberTable(hv.members)] : null,
       st ? [h('h2', {}, t('statuses')), statusTable(st.statuses, date)] : null,
       cs ? [h('h2', {}, t('cases')), caseTable(cs.cases)] : null,
       h('h2', {}, t('all_facts')), factRows(facts),
       pay ? [h('h2', {}, t('payment_history')), pay.orders.length
         ? h('table', {}, h('tbody', {}, pay.orders.map((o) => h('tr', {},
             Object.entries(o).filter(([, v]) => typeof v !== 'object').slice(0, 6).map(([, v]) => h('td', {}, String(v)))))))
         : h('p', {}, t('no_payments'))] : null,
       p.household_key ? h('p', {}, h('a', { href: `#/application/new/${p.household_key}/${key}` }, t('new_application')))
                       : null,
       h('p', {}, h('a', { href: '#/agreement/new/' + key }, t('agreement')), ' · ',
         h('a', { href: '#/duties/' + key }, t('duties'))));
}

// The statuses and benefits the person holds (means testing's projection); the ones in
// force on the page's date first, each with its decision.
function statusTable(list, date) {
  if (!list.length) return h('p', {}, t('no_statuses'));
  const on = (s) => (!s.period_from || s.period_from <= date) && (!s.period_to || s.period_to >= date);
  const rows = list.filter(on).concat(list.filter((s) => !on(s)));
  return h('table', { class: 'statuses' }, h('thead', {}, h('tr', {}, [t('kind'), t('period'), t('amount'), t('decided_on'),
    t('in_force_now'), t('decision')].map((x) => h('th', { scope: 'col' }, x)))),
  h('tbody', {}, rows.map((s) => h('tr', {},
    h('td', {}, s.kind === 'status' ? t(s.status + '_status') : s.benefit,
      s.overridden ? h('span', { class: 'tag' }, ' (' + t('overridden') + ')') : null),
    h('td', {}, (s.period_from || '') + ' … ' + (s.period_to || '')),
    h('td', {}, s.amount_cents ? euros(s.amount_cents) + ' EUR' : ''), h('td', {}, s.decided_on || ''),
    h('td', {}, on(s) ? '✓' : ''),
    h('td', {}, h('a', { href: '#/decision/' + s.application_id }, t('explanation')))))));
}

function caseTable(list) {
  if (!list.length) return h('p', {}, t('no_cases'));
  return h('table', {}, h('thead', {}, h('tr', {}, [t('case_history'), t('sector'), t('social_worker'), t('opened_on'), t('status')]
    .map((x) => h('th', { scope: 'col' }, x)))),
  h('tbody', {}, list.map((c) => h('tr', {}, h('td', {}, h('a', { href: '#/case/' + c.case_key }, c.case_key.slice(0, 8))),
    h('td', {}, c.sector), h('td', {}, c.social_worker), h('td', {}, c.opened_on || ''),
    h('td', {}, c.active ? t('active') : t('closed'))))));
}

// Every event of a case, its client and household, in log order, as intake summarises it.
async function casePage(key) {
  const c = await api('GET', T(`/cases/${key}/history`));
  page(t('case_history'), h('dl', {}, h('dt', {}, t('person')), h('dd', {}, h('a', { href: '#/person/' + c.person_key }, c.person_key)),
    h('dt', {}, t('household')), h('dd', {}, c.household_key ? h('a', { href: '#/household/' + c.household_key }, c.household_key) : '—'),
    h('dt', {}, t('sector')), h('dd', {}, c.sector), h('dt', {}, t('social_worker')), h('dd', {}, c.social_worker),
    h('dt', {}, t('status')), h('dd', {}, c.active ? t('active') : t('closed'))),
  h('table', {}, h('thead', {}, h('tr', {}, [t('when'), t('event'), t('who'), ''].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, c.entries.map((e) => h('tr', {},
      h('td', {}, new Date(Number(e.recorded_at_us) / 1000).toISOString().slice(0, 16).replace('T', ' ')),
      h('td', {}, e.type), h('td', {}, e.actor), h('td', {}, e.summary))))));
}

// A person's co-operation agreements: each duty with its due date and latest outcome, and
// a link to record one.
async function dutiesPage(person) {
  const r = await api('GET', T(`/persons/${person}/agreements`));
  const outcome = (d) => d.outcome === 1 ? t('fulfilled') + ' ' + (d.outcome_on || '')
    : d.outcome === -1 ? t('failed') + ' ' + (d.outcome_on || '') : t('no_outcome');
  page(t('duties'), r.agreements.length ? r.agreements.map((a) => h('section', { 'aria-label': t('agreement_key') + ' ' + a.signed_on },
    h('h2', {}, `${t('signed_on')} ${a.signed_on || ''}`),
    h('table', {}, h('thead', {}, h('tr', {}, [t('duty_no'), t('duty'), t('due'), t('duty_outcome'), ''].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, a.duties.map((d) => h('tr', { class: d.outcome === -1 ? 'fail' : '' }, h('td', {}, d.index), h('td', {}, d.kind),
        h('td', {}, d.due || ''), h('td', {}, outcome(d)),
        h('td', {}, h('a', { href: `#/outcome/${a.agreement_key}/${person}` }, t('record_outcome'))))))))) : h('p', {}, t('no_agreements')),
  h('p', {}, h('a', { href: '#/agreement/new/' + person }, t('agreement')), ' · ', h('a', { href: '#/person/' + person }, t('person'))));
}

const RELS = ['applicant', 'spouse', 'child', 'parent', 'other_relative', 'other'];

function newHouseholdPage(applicant) {
  const rows = h('div', {});
  const addRow = (key, rel) => {
    const i = rows.children.length;
    rows.append(h('fieldset', {}, h('legend', {}, t('member') + ' ' + (i + 1)), h('div', { class: 'row' },
      field(t('person_key'), { name: `m${i}key`, value: key || '', required: true, size: 38, field: `members.${i}.person_key` }),
      field(t('relationship'), { tag: 'select', name: `m${i}rel`, value: rel || 'child', field: `members.${i}.relationship`,
                                 options: RELS.map((r) => [r, r]) }),
      field(t('joined'), { name: `m${i}joined`, type: 'date', value: today(), max: today(), required: true,
                           field: `members.${i}.joined` }))));
  };
  addRow(applicant, 'applicant');
  page(t('new_household'), form(async (f) => {
    const members = [...rows.children].map((_, i) => ({ person_key: val(f, `m${i}key`),
      relationship: val(f, `m${i}rel`), joined: val(f, `m${i}joined`) }));
    const r = await api('POST', T('/households'), { members });
    location.hash = '#/household/' + r.key;
  }, rows, h('p', {}, h('button', { type: 'button', class: 'secondary', onclick: () => addRow('', 'child') },
                      t('add_member'))),
     h('p', {}, h('button', { type: 'submit' }, t('create')))));
}

function memberTable(list) {
  return h('table', {}, h('thead', {}, h('tr', {}, [t('given_name'), t('family_name'), t('personal_code'),
                                                  t('relationship'), t('joined'), t('left')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, list.map((m) => h('tr', {}, h('td', {}, h('a', { href: '#/person/' + m.person_key }, m.given_name || '—')),
      h('td', {}, m.family_name), h('td', {}, m.personal_code), h('td', {}, m.relationship || ''),
      h('td', {}, m.joined || ''), h('td', {}, m.left || '')))));
}

async function householdPage(key, asOf) {
  const q = asOf ? '?as_of=' + encodeURIComponent(asOf) : '';
  const hv = await api('GET', T('/households/' + key + q));
  const applicant = (hv.members.find((m) => m.relationship === 'applicant') || hv.members[0] || {}).person_key;
  const apps = await api('GET', T(`/households/${key}/applications`)).catch(() => null);
  page(t('household'),
       form(async (f) => { location.hash = `#/household/${key}/${val(f, 'as_of')}`; },
            h('div', { class: 'row' }, field(t('as_of'), { name: 'as_of', type: 'date', value: hv.as_of || today() }),
              h('button', { type: 'submit' }, t('show')))),
       h('h2', {}, t('members') + ' (' + (hv.as_of || '') + ')'), memberTable(hv.members),
       hv.others.length ? [h('h2', {}, t('others')), memberTable(hv.others)] : null,
       apps ? [h('h2', {}, t('applications')), applicationTable(apps.applications),
               apps.applications.length && canReplay() ? h('p', {}, h('a', { href: '#/household-replay/' + key }, t('household_replay'))) : null] : null,
       applicant ? h('p', {}, h('a', { href: `#/application/new/${key}/${applicant}` }, t('new_application'))) : null);
}

// The replay route is for auditors, heads of service and assistance officers (routes.c).
function canReplay() {
  const g = me.grants.find((x) => x.tenant === tenant);
  return !!g && ['auditor', 'head_of_service', 'assistance_officer'].includes(g.role);
}

function applicationTable(list) {
  if (!list.length) return h('p', {}, t('no_applications'));
  return h('table', {}, h('thead', {}, h('tr', {}, [t('application'), t('received'), t('deadline'), t('status'), '']
    .map((x) => h('th', { scope: 'col' }, x)))),
  h('tbody', {}, list.map((a) => h('tr', {}, h('td', {}, h('a', { href: '#/application/' + a.application_id }, a.application_id.slice(0, 8))),
    h('td', {}, a.received || ''), h('td', {}, a.deadline || ''), h('td', {}, a.status),
    h('td', {}, h('a', { href: '#/decision/' + a.application_id }, t('decisions')))))));
}

// The audit replay of a whole household: every application of it through the replay
// route, one after the other (there is no single query; each replay is logged as a read).
async function householdReplayPage(key) {
  const apps = await api('GET', T(`/households/${key}/applications`));
  const rows = [];
  let all = true;
  for (const a of apps.applications) {
    const r = await api('GET', T(`/applications/${a.application_id}/replay`)).catch((e) => (e.status === 404 ? null : Promise.reject(e)));
    if (r) all = all && r.proven;
    rows.push(h('tr', {}, h('td', {}, h('a', { href: '#/replay/' + a.application_id }, a.application_id.slice(0, 8))),
      h('td', {}, a.received || ''), h('td', {}, a.status),
      h('td', { class: !r ? '' : r.proven ? 'ok' : 'error' }, !r ? t('no_decision') : r.proven ? t('proven') : t('not_proven')),
      h('td', {}, r ? r.decisions.map((d) => `${d.ask_index}. ${d.event_type} ${d.proven ? '✓' : '✗'}`).join(' · ') : '')));
  }
  page(t('household_replay'), h('p', { class: all ? 'ok' : 'error', id: 'replay-summary' }, all ? t('proven') : t('not_proven')),
    h('table', {}, h('thead', {}, h('tr', {}, [t('application'), t('received'), t('status'), t('replay'), t('decisions')]
      .map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, rows)),
    h('p', {}, h('a', { href: '#/household/' + key }, t('household'))));
}

async function newApplicationPage(hkey, applicant) {
  const hv = await api('GET', T('/households/' + hkey));
  const members = hv.members.map((m) => [m.person_key, `${m.given_name} ${m.family_name}`]);
  const incomes = h('div', {});
  const months = monthsBefore(today(), 3);
  const addIncome = (member, month) => {
    const i = incomes.children.length;
    incomes.append(h('div', { class: 'row income' },
      field(t('member'), { tag: 'select', name: `i${i}member`, options: members, value: member, field: `incomes.${i}.member` }),
      field(t('income_type'), { tag: 'select', name: `i${i}type`, field: `incomes.${i}.type`,
        options: [['wage', 'alga / wage'], ['pension', 'pensija / pension'], ['unemployment_benefit', 'bezdarbnieka pabalsts'],
                  ['family_state_benefit', 'ģimenes valsts pabalsts'], ['other', 'cits / other']] }),
      field(t('month'), { name: `i${i}month`, type: 'month', value: month, required: true, field: `incomes.${i}.month` }),
      field(t('amount_eur'), { name: `i${i}amount`, inputmode: 'decimal', required: true, field: `incomes.${i}.amount_cents` })));
  };
  for (const [key] of members) for (const m of months) addIncome(key, m);
  const f = form(async (fm) => {
    // inline validation of the amounts: euros with at most two decimals
    let bad = null;
    const list = [...incomes.children].map((_, i) => {
      const c = cents(val(fm, `i${i}amount`));
      if (c === null) { const inp = fm.querySelector(`[name=i${i}amount]`); markInvalid(inp, t('bad_amount')); bad = bad || inp; }
      return { member: val(fm, `i${i}member`), type: val(fm, `i${i}type`), month: val(fm, `i${i}month`), amount_cents: c };
    });
    for (const n of ['savings', 'housing_expenses', 'property']) {
      if (val(fm, n) && cents(val(fm, n)) === null) { const inp = fm.querySelector(`[name=${n}]`); markInvalid(inp, t('bad_amount')); bad = bad || inp; }
    }
    if (bad) { bad.focus(); return; }
    const asks = [...fm.querySelectorAll('[name=ask]:checked')].map((c) => ({ kind: c.value }));
    const received = val(fm, 'received');
    const app = await api('POST', T('/applications'), {
      applicant, household_key: hkey, asks, received, channel: val(fm, 'channel'), social_worker: 'user:' + me.login });
    const decl = { incomes: list, savings_cents: cents(val(fm, 'savings') || '0'),
                   housing_expenses_cents: cents(val(fm, 'housing_expenses') || '0'), declared_on: val(fm, 'declared_on') };
    if (val(fm, 'property') && cents(val(fm, 'property')) > 0)
      decl.properties = [{ member: applicant, use: 'other', cadastral_value_cents: cents(val(fm, 'property')) }];
    await api('POST', T(`/applications/${app.key}/declaration`), decl);
    await api('POST', T(`/applications/${app.key}/complete`), { decision_date: received });
    location.hash = '#/decision/' + app.key;
  },
  field(t('received'), { name: 'received', type: 'date', value: today(), max: today(), required: true }),
  field(t('channel'), { tag: 'select', name: 'channel', options: [['office', 'klātienē / office'],
    ['e_service', 'e-pakalpojums / e-service'], ['post', 'pasts / post'], ['home_visit', 'dzīvesvietā / home visit']] }),
  h('fieldset', {}, h('legend', {}, t('asks')),
    ['needy_status', 'low_income_status', 'gmi', 'housing'].map((k, i) => h('div', {},
      h('input', { type: 'checkbox', name: 'ask', value: k, id: 'ask' + k, checked: i === 0 || i === 2 }),
      h('label', { for: 'ask' + k, class: 'inline' }, ' ' + t(k))))),
  h('fieldset', {}, h('legend', {}, t('declaration')),
    h('h2', {}, t('incomes')), incomes,
    h('button', { type: 'button', class: 'secondary', onclick: () => addIncome(members[0][0], months[2]) }, t('add_income')),
    h('h2', {}, t('assets')),
    field(t('savings'), { name: 'savings', inputmode: 'decimal', value: '0', field: 'savings_cents' }),
    field(t('property_value'), { name: 'property', inputmode: 'decimal', value: '0', field: 'properties.0.cadastral_value_cents' }),
    h('h2', {}, t('expenses')),
    field(t('housing_expenses'), { name: 'housing_expenses', inputmode: 'decimal', value: '0', field: 'housing_expenses_cents' }),
    field(t('declared_on'), { name: 'declared_on', type: 'date', value: today(), max: today(), required: true })),
  h('p', {}, h('button', { type: 'submit' }, t('submit_application'))));
  // the declaration covers the three full months before the application date: follow it
  f.querySelector('[name=received]').addEventListener('change', (ev) => {
    const ms = monthsBefore(ev.target.value, 3);
    [...incomes.children].forEach((_, i) => { f.querySelector(`[name=i${i}month]`).value = ms[i % 3]; });
    f.querySelector('[name=declared_on]').value = ev.target.value;
  });
  page(t('new_application'), f);
}

function stepView(s) {
  const cls = s.outcome === 'pass' ? 'pass' : s.outcome === 'fail' ? 'fail' : '';
  return h('li', { class: 'step ' + cls },
    h('strong', {}, currentLang() === 'lv' ? s.label_lv : s.label_en), h('div', {}, s.values),
    h('div', {}, '→ ' + s.result),
    s.reads.length ? h('ul', { class: 'reads', 'aria-label': t('legal') }, s.reads.map((r) =>
      h('li', {}, `${r.name} = ${r.value} (${r.scope}${r.from ? ', ' + r.from : ''}) — ${r.source}`))) : null);
}

async function decisionPage(id) {
  page(t('decision'), h('p', { id: 'wait' }, t('waiting_decision')));
  let r = null;
  // the decision is made by means testing from intake's event: wait for it (up to 60 s)
  for (let i = 0; i < 120; i++) {
    r = await api('GET', T(`/applications/${id}/decisions`)).catch((e) => (e.status === 404 ? null : Promise.reject(e)));
    if (r && r.decisions.length) break;
    const a = await api('GET', T('/applications/' + id));
    if (a.returned && a.returned.message) {
      page(t('decision'), h('p', { class: 'error', role: 'alert' }, a.returned.message), h('p', {}, a.returned.detail || ''));
      return;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  if (!r || !r.decisions.length) return;
  page(t('decision'), h('p', {}, t('application') + ' ', h('a', { href: '#/application/' + id }, id)),
    r.decisions.map((d) => {
      const res = d.decision.result;
      const granted = res.outcome === 'granted';
      return h('section', { class: 'decision', 'aria-label': t('decision') + ' ' + d.decision.ask_index },
        h('h2', {}, `${d.decision.ask_index}. ${t(res.ask || '')}${res.benefit && res.ask === 'benefit' ? ' ' + res.benefit : ''}: `,
          h('span', { class: granted ? 'ok' : 'error' }, granted ? t('granted') : t('refused'))),
        res.period_from ? h('p', {}, t('period') + ': ' + res.period_from + ' … ' + (res.period_to || ''),
          res.has_amount ? ' · ' + t('amount') + ': ' + euros(res.amount_cents) + ' EUR' : '') : null,
        res.reasons.length ? [h('h3', {}, t('reasons')), h('ul', {}, res.reasons.map((x) =>
          h('li', {}, currentLang() === 'lv' ? x.text_lv : x.text_en)))] : null,
        h('h3', {}, t('explanation')), h('ol', { class: 'steps' }, d.decision.steps.map(stepView)));
    }),
    h('p', {}, h('a', { href: '#/replay/' + id }, t('replay'))));
}

async function applicationPage(id) {
  const a = await api('GET', T('/applications/' + id));
  page(t('application'), h('dl', {}, h('dt', {}, t('status')), h('dd', {}, a.status),
    h('dt', {}, t('received')), h('dd', {}, a.received ? a.received.received : ''),
    h('dt', {}, t('household')), h('dd', {}, a.received ? h('a', { href: '#/household/' + a.received.household_key },
                                                             a.received.household_key) : '')),
    h('p', {}, h('a', { href: '#/decision/' + id }, t('decisions'))));
}

async function replayPage(id) {
  const r = await api('GET', T(`/applications/${id}/replay`));
  page(t('replay'), h('p', { class: r.proven ? 'ok' : 'error' }, r.proven ? t('proven') : t('not_proven')),
    h('ul', {}, r.decisions.map((d) => h('li', {}, `${d.ask_index}. ${d.event_type} @${d.position}: ` +
      (d.proven ? '✓' : '✗ ' + (d.mismatch ? `${d.mismatch.where} ${d.mismatch.field}: ${d.mismatch.recorded} ≠ ${d.mismatch.replayed}` : ''))))));
}

function agreementPage(person) {
  const duties = h('div', {});
  const addDuty = () => {
    const i = duties.children.length;
    duties.append(h('div', { class: 'row' },
      field(t('duty'), { tag: 'select', name: `d${i}kind`, field: `duties.${i}.kind`, options: [
        ['register_unemployed', 'reģistrēties NVA'], ['seek_work', 'meklēt darbu'], ['attend_programme', 'apmeklēt programmu'],
        ['meet_social_worker', 'tikties ar sociālo darbinieku'], ['other', 'cits']] }),
      field(t('due'), { name: `d${i}due`, type: 'date', required: true, field: `duties.${i}.due` }),
      field(t('duty'), { name: `d${i}text`, field: `duties.${i}.text` })));
  };
  addDuty();
  page(t('agreement'), form(async (f) => {
    const list = [...duties.children].map((_, i) => ({ kind: val(f, `d${i}kind`), due: val(f, `d${i}due`), text: val(f, `d${i}text`) }));
    const r = await api('POST', T('/agreements'), { person_key: person, signed_on: val(f, 'signed_on'), duties: list });
    location.hash = `#/outcome/${r.key}/${person}`;
  }, field(t('signed_on'), { name: 'signed_on', type: 'date', value: today(), max: today(), required: true }), duties,
     h('p', {}, h('button', { type: 'button', class: 'secondary', onclick: addDuty }, '+')),
     h('p', {}, h('button', { type: 'submit' }, t('save')))));
}

// Record whether a duty of an agreement was fulfilled (there is no query of an agreement:
// the page is reached from the agreement just made, or with its key).
function outcomePage(agreement, person) {
  const done = h('p', { 'aria-live': 'polite' });
  page(t('duty_outcome'), form(async (f) => {
    await api('POST', T(`/agreements/${val(f, 'agreement')}/outcomes`), {
      duty: parseInt(val(f, 'duty'), 10), fulfilled: val(f, 'fulfilled') === 'true', on: val(f, 'on'),
      note: val(f, 'note') });
    done.textContent = t('outcome_saved');
  }, field(t('agreement_key'), { name: 'agreement', value: agreement || '', required: true, size: 38, field: 'agreement_key' }),
     field(t('duty_no'), { name: 'duty', type: 'number', value: '1', required: true, field: 'duty' }),
     field(t('duty_outcome'), { tag: 'select', name: 'fulfilled', field: 'fulfilled',
                                 options: [['true', t('fulfilled')], ['false', t('failed')]] }),
     field(t('outcome_on'), { name: 'on', type: 'date', value: today(), max: today(), required: true, field: 'on' }),
     field(t('note'), { name: 'note', field: 'note' }),
     h('p', {}, h('button', { type: 'submit' }, t('save')))), done,
  person ? h('p', {}, h('a', { href: '#/person/' + person }, t('person'))) : null);
}

function waitingPage() {
  const out = h('div', { 'aria-live': 'polite' });
  page(t('waiting_list'), form(async (f) => {
    const svc = encodeURIComponent(val(f, 'service'));
    const [w, o] = await Promise.all([api('GET', T('/waiting-list?service=' + svc)),
                                      api('GET', T(`/occupancy?owner=${encodeURIComponent(tenant)}&provider=${encodeURIComponent(val(f, 'provider'))}&service=${svc}`)).catch(() => null)]);
    out.textContent = '';
    if (o) out.append(h('p', {}, `${t('capacity')}: ${o.capacity} · ${t('occupied')}: ${o.occupied} · ${t('free')}: ${o.free}`));
    out.append(h('table', {}, h('thead', {}, h('tr', {}, [t('position'), t('person'), t('urgency'), t('received')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, w.entries.map((e) => h('tr', {}, h('td', {}, e.position), h('td', {}, h('a', { href: '#/person/' + e.person_key }, e.person_key)),
        h('td', {}, e.urgency), h('td', {}, e.requested_on || ''))))));
  }, h('div', { class: 'row' }, field(t('service'), { name: 'service', value: 'home_care', required: true }),
       field(t('provider'), { name: 'provider', value: 'aprupe_majas' }),
       h('button', { type: 'submit' }, t('show')))), out);
}

function paymentsPage() {
  const out = h('div', { 'aria-live': 'polite' });
  page(t('payments'), form(async (f) => {
    const r = await api('GET', T('/payments/due?due=' + encodeURIComponent(val(f, 'due'))));
    out.textContent = '';
    out.append(h('p', {}, `${t('total')}: ${euros(r.total_cents)} EUR`),
      h('table', {}, h('tbody', {}, r.orders.map((o) => h('tr', {}, Object.entries(o).filter(([, v]) => typeof v !== 'object')
        .slice(0, 6).map(([, v]) => h('td', {}, String(v))))))));
  }, h('div', { class: 'row' }, field(t('due_until'), { name: 'due', type: 'date', value: today(), required: true }),
       h('button', { type: 'submit' }, t('show')))), out,
  h('h2', {}, t('batches')), batchesForm());
}

function batchesForm() {
  const out = h('div', { 'aria-live': 'polite' });
  const year = today().slice(0, 4);
  return [form(async (f) => {
    const r = await api('GET', T(`/payment-batches?from=${encodeURIComponent(val(f, 'from'))}&to=${encodeURIComponent(val(f, 'to'))}`));
    out.textContent = '';
    out.append(h('p', {}, `${t('total')}: ${euros(r.total_cents)} EUR`),
      h('table', {}, h('thead', {}, h('tr', {}, [t('created'), t('execution_date'), t('count'), t('amount'), t('status'),
        t('paid'), t('rejected')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, r.batches.map((b) => h('tr', {}, h('td', {}, b.created || ''), h('td', {}, b.execution_date || ''),
        h('td', {}, b.count), h('td', {}, euros(b.total_cents) + ' EUR'),
        h('td', {}, [b.exported ? t('exported') : '', b.confirmed ? t('confirmed') + ' ' + b.report_id : ''].filter(Boolean).join(', ') || '—'),
        h('td', {}, b.paid), h('td', {}, b.rejected))))));
  }, h('div', { class: 'row' }, field(t('from'), { name: 'from', type: 'date', value: year + '-01-01', required: true }),
       field(t('to'), { name: 'to', type: 'date', value: today(), required: true }), h('button', { type: 'submit' }, t('show')))), out];
}

function reportsPage() {
  const out = h('div', { 'aria-live': 'polite' });
  const year = today().slice(0, 4);
  page(t('reports'), form(async (f) => {
    const r = await api('GET', T(`/reports/assistance?from=${val(f, 'from')}&to=${val(f, 'to')}`));
    out.textContent = '';
    const rows = r.rows.concat(r.total ? [Object.assign({}, r.total, { tenant: t('total') })] : []);
    const max = Math.max(1, ...rows.map((x) => x.needy.households + x.low_income.households));
    out.append(h('table', {}, h('thead', {}, h('tr', {}, [t('municipality'), t('needy_status'), t('low_income_status'),
      t('applications_decided'), t('on_time'), ''].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map((x) => h('tr', {}, h('td', {}, x.tenant), h('td', {}, `${x.needy.households} / ${x.needy.persons}`),
        h('td', {}, `${x.low_income.households} / ${x.low_income.persons}`), h('td', {}, x.applications_decided),
        h('td', {}, x.decided_on_time),
        h('td', { 'aria-hidden': 'true' }, h('span', { class: 'bar', style: `width:${Math.round(120 * (x.needy.households + x.low_income.households) / max)}px` })))))));
  }, h('div', { class: 'row' }, field(t('from'), { name: 'from', type: 'date', value: year + '-01-01', required: true }),
       field(t('to'), { name: 'to', type: 'date', value: today(), required: true }), h('button', { type: 'submit' }, t('show')))), out);
}

async function accessLogPage() {
  const r = await api('GET', T('/access-log'));
  page(t('access_log'), h('table', {}, h('thead', {}, h('tr', {}, [t('when'), t('who'), 'action', t('whose'), t('outcome')]
    .map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, r.entries.map((e) => h('tr', {}, h('td', {}, e.at), h('td', {}, e.login), h('td', {}, e.action),
      h('td', {}, `${e.subject_kind} ${e.subject_key}`), h('td', {}, e.outcome)))))); 
}

// ---- the router -----------------------------------------------------------------------------

async function route() {
  const parts = (location.hash || '#/').slice(2).split('/');
  if (!me) {
    try {
      me = await api('GET', '/api/v1/session');
      tenant = tenant || (me.grants[0] && me.grants[0].tenant);
    } catch (e) { me = null; }
  }
  chrome();
  if (!me) return signinPage();
  try {
    switch (parts[0]) {
      case 'person':
        return parts[1] === 'new' ? newPersonPage() : await personPage(parts[1], parts[2]);
      case 'household':
        return parts[1] === 'new' ? newHouseholdPage(parts[2]) : await householdPage(parts[1], parts[2]);
      case 'application':
        return parts[1] === 'new' ? await newApplicationPage(parts[2], parts[3]) : await applicationPage(parts[1]);
      case 'decision': return await decisionPage(parts[1]);
      case 'replay': return await replayPage(parts[1]);
      case 'household-replay': return await householdReplayPage(parts[1]);
      case 'case': return await casePage(parts[1]);
      case 'duties': return await dutiesPage(parts[1]);
      case 'agreement': return agreementPage(parts[2]);
      case 'outcome': return outcomePage(parts[1], parts[2]);
      case 'waiting': return waitingPage();
      case 'payments': return paymentsPage();
      case 'reports': return reportsPage();
      case 'access-log': return await accessLogPage();
      case 'signin': case 'search': case '': return searchPage();
      default: return page(t('not_found'));
    }
  } catch (err) {
    const e = (err.body && err.body.error) || { message: err.message };
    page(t('error'), h('p', { class: 'error', role: 'alert' }, e.message), e.detail ? h('p', {}, e.detail) : null);
    say(e.message);
  }
}

document.getElementById('lang').addEventListener('click', () => { toggleLang(); route(); });
window.addEventListener('hashchange', route);
route();
