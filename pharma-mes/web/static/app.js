// pharma-mes operator terminal: plain JavaScript, no build step, no third-party code.
// Talks to /api/v1 with the bearer token of the session (kept in sessionStorage for this tab
// only). Every text from the server goes into the page through textContent, never as HTML.
// Views (location.hash): #/batches, #/batch/<id>, #/alarms, #/qa, #/qa/<id>, #/audit/<id>.
'use strict';

const session = {
  token: sessionStorage.getItem('mes.token') || '',
  user: JSON.parse(sessionStorage.getItem('mes.user') || 'null'),
};

// ---- small helpers -------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function fmtTime(ms) {
  if (!ms) return '';
  const d = new Date(typeof ms === 'number' ? ms : Date.parse(ms));
  return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

function fmtNum(v, digits = 3) {
  return Number.isFinite(v) ? String(Math.round(v * 10 ** digits) / 10 ** digits) : '';
}

function hasRole(role) {
  return !!session.user && (session.user.roles || '').split(',').includes(role);
}

let toastTimer = 0;
function toast(message, bad = false) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = bad ? 'bad' : '';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, bad ? 7000 : 3500);
}

// The workstation this browser is: sent as X-Terminal-Id on every call, so the audit trail
// names where each entry was made (21 CFR 11.10(e)). A kiosk's shortcut names it once with
// ?terminal=HMI-LINE-3; otherwise a random WS-… id is made and kept in this browser.
const terminalId = (() => {
  const valid = (t) => /^[A-Za-z0-9._:-]{1,64}$/.test(t || '');
  const asked = new URLSearchParams(location.search).get('terminal');
  try {
    if (valid(asked)) localStorage.setItem('mes.terminal', asked);
    let t = localStorage.getItem('mes.terminal');
    if (!valid(t)) {
      const bytes = new Uint8Array(5);
      crypto.getRandomValues(bytes);
      t = 'WS-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
      localStorage.setItem('mes.terminal', t);
    }
    return t;
  } catch (e) {
    return valid(asked) ? asked : '';  // no storage: the server names the client's address
  }
})();

// One API call: {ok, status, data, error}. A 401 on a logged-in session ends it.
async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (session.token) headers['Authorization'] = 'Bearer ' + session.token;
  if (terminalId) headers['X-Terminal-Id'] = terminalId;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  // A read is tried again after a network error (a kept-alive connection the server had just
  // closed); a write is not, so it is never done twice.
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch('/api/v1' + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
      break;
    } catch (e) {
      if (method !== 'GET' || attempt >= 2) {
        console.error(`${method} ${path}: ${e}`);
        return { ok: false, status: 0, error: { code: 'network', message: 'the MES does not answer' } };
      }
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
  let json = null;
  try { json = await res.json(); } catch (e) { json = null; }
  if (res.status === 401 && session.token && path !== '/login') {
    endSession('Your session ended (idle timeout or logged out). Please log in again.');
  }
  if (res.ok) return { ok: true, status: res.status, data: json ? json.data : null };
  return { ok: false, status: res.status,
           error: (json && json.error) || { code: 'http_' + res.status, message: res.statusText } };
}

function endSession(message) {
  session.token = '';
  session.user = null;
  sessionStorage.removeItem('mes.token');
  sessionStorage.removeItem('mes.user');
  renderLogin(message);
}

// ---- dialogs -------------------------------------------------------------------------------

// Opens the modal dialog with `fields` ([{name, label, type, value, placeholder}]); resolves
// with the values, or null when cancelled. `submit(values)` may return an error text to keep
// the dialog open (e.g. a wrong password).
function openDialog({ title, meaning, fields, confirm = 'Confirm', danger = false, submit }) {
  const dialog = document.getElementById('dialog');
  const form = document.getElementById('dialog-form');
  form.replaceChildren();
  const error = h('div', { class: 'error', role: 'alert' });
  const inputs = {};
  form.append(h('h2', { text: title }));
  if (meaning) form.append(h('div', { class: 'meaning', 'data-test': 'meaning' }, meaning));
  for (const f of fields) {
    const input = f.type === 'textarea'
      ? h('textarea', { name: f.name, rows: 3, placeholder: f.placeholder || '' })
      : h('input', { name: f.name, type: f.type || 'text', value: f.value || '',
                     placeholder: f.placeholder || '', autocomplete: 'off' });
    inputs[f.name] = input;
    // A checkbox stands before its text; a hidden field is shown by the submit when needed.
    form.append(f.type === 'checkbox'
      ? h('label', { class: 'check', 'data-field': f.name, hidden: !!f.hidden }, input, ' ', f.label)
      : h('label', { 'data-field': f.name, hidden: !!f.hidden }, f.label, input));
  }
  const ok = h('button', { type: 'submit', class: danger ? 'danger' : '', 'data-test': 'dialog-confirm' },
               confirm);
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  form.append(error, h('div', { class: 'actions' }, cancel, ok));
  return new Promise((resolve) => {
    const finish = (v) => { dialog.close(); form.onsubmit = null; resolve(v); };
    cancel.onclick = () => finish(null);
    dialog.oncancel = () => finish(null);
    form.onsubmit = async (e) => {
      e.preventDefault();
      const values = {};
      for (const [k, el] of Object.entries(inputs)) values[k] = el.type === 'checkbox' ? el.checked : el.value;
      ok.disabled = true;
      const problem = submit ? await submit(values) : null;
      ok.disabled = false;
      if (problem) {
        error.textContent = problem;
        if (inputs.password) { inputs.password.value = ''; inputs.password.focus(); }
        return;
      }
      finish(values);
    };
    dialog.showModal();
    const first = fields.find((f) => !f.value);
    if (first) inputs[first.name].focus();
  });
}

// A signing (21 CFR 11.200): shows the meaning and asks the signer's user id and password.
function signDialog({ title, meaning, askUser = false, userHint = '', extra = [], confirm, call }) {
  // Both components every time (11.200(a)(1)): the first signing of a session needs them, and
  // asking always keeps the dialog the same. One's own signature comes with one's id filled in.
  const fields = [...extra];
  fields.push({ name: 'user_id', label: askUser ? 'User id of the signer' : 'User id',
                placeholder: userHint, value: askUser ? '' : (session.user ? session.user.id : '') });
  fields.push({ name: 'password', label: 'Password', type: 'password' });
  // A user's first signing ever carries their attestation of its legal meaning (11.100(c)):
  // the server asks for it (attestation_required) and the dialog then shows the statement.
  const statement = h('span', { 'data-test': 'attestation' });
  fields.push({ name: 'attest', type: 'checkbox', hidden: true, label: statement });
  return openDialog({
    title, meaning, fields, confirm: confirm || 'Sign',
    submit: async (v) => {
      if (!v.password) return 'The password is needed for a signature.';
      const signature = { user_id: v.user_id.trim(), password: v.password, attest: v.attest };
      const r = await call(v, signature);
      if (!r.ok && r.error.code === 'attestation_required') {
        if (!statement.textContent) {
          const me = await api('GET', '/me');  // the statement, as the server keeps it
          statement.textContent = me.ok ? me.data.signature_attestation : r.error.message;
        }
        document.querySelector('#dialog-form [data-field=attest]').hidden = false;
        return v.attest ? r.error.message
          : 'This is the first electronic signature of this user: read the statement above, ' +
            'tick it to accept it, and sign again.';
      }
      return r.ok ? null : r.error.message;
    },
  });
}

function reasonDialog(title, confirm, danger) {
  return openDialog({ title, confirm, danger,
                      fields: [{ name: 'reason', label: 'Reason (goes on the record)', type: 'textarea' }],
                      submit: async (v) => (v.reason.trim() ? null : 'A reason is needed.') });
}

// ---- layout --------------------------------------------------------------------------------

// The page's content area. A view fetches its data and then fills it; a view the user has
// already left (a later showBar) gets a detached element instead, so a slow answer never
// overwrites the view the user went to.
let renderSeq = 0;
function main(seq) {
  return seq === undefined || seq === renderSeq ? document.getElementById('main') : document.createElement('div');
}

// Marks `view` in the bar; returns the render sequence number main() takes.
function showBar(view) {
  const bar = document.getElementById('bar');
  bar.hidden = false;
  for (const a of bar.querySelectorAll('[data-nav]')) {
    a.classList.toggle('active', a.dataset.nav === view);
    if (a.dataset.role) a.hidden = !a.dataset.role.split(',').some(hasRole);
  }
  document.getElementById('who').textContent =
    session.user ? `${session.user.full_name} (${session.user.roles})` : '';
  return ++renderSeq;
}

async function refreshAlarmCount() {
  if (!session.token) return;
  const r = await api('GET', '/alarms?active=1');
  const badge = document.getElementById('alarm-count');
  if (!r.ok) return;
  badge.textContent = String(r.data.length);
  badge.hidden = r.data.length === 0;
}

// ---- login ---------------------------------------------------------------------------------

function renderLogin(message) {
  ++renderSeq;  // a view still loading no longer fills the page
  document.getElementById('bar').hidden = true;
  const error = h('div', { class: 'feedback bad', role: 'alert', text: message || '' });
  const user = h('input', { name: 'user_id', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password',
                                required: true });
  const button = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      button.disabled = true;
      const r = await api('POST', '/login', { user_id: user.value.trim(), password: password.value });
      button.disabled = false;
      password.value = '';
      if (!r.ok) { error.textContent = r.error.message; return; }
      session.token = r.data.token;
      session.user = r.data.user;
      sessionStorage.setItem('mes.token', session.token);
      sessionStorage.setItem('mes.user', JSON.stringify(session.user));
      if (r.data.must_change_password) renderChangePassword();
      else { location.hash = '#/batches'; route(); }
    },
  }, h('label', {}, 'User id', user), h('label', {}, 'Password', password), error, button);
  main().replaceChildren(h('div', { class: 'panel login' }, h('h1', { text: 'Log in' }), form));
  user.focus();
}

function renderChangePassword() {
  ++renderSeq;  // a view still loading no longer fills the page
  document.getElementById('bar').hidden = true;
  const error = h('div', { class: 'feedback bad', role: 'alert' });
  const old = h('input', { type: 'password', name: 'old' });
  const pw1 = h('input', { type: 'password', name: 'new' });
  const pw2 = h('input', { type: 'password', name: 'again' });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      if (pw1.value !== pw2.value) { error.textContent = 'The new passwords differ.'; return; }
      const r = await api('POST', '/password', { old_password: old.value, new_password: pw1.value });
      if (!r.ok) { error.textContent = r.error.message; return; }
      toast('Password changed. Log in with the new one.');
      endSession('');
    },
  }, h('p', { text: 'Your password must be changed before you go on (one-time or expired password).' }),
     h('label', {}, 'Current password', old), h('label', {}, 'New password (12 characters or more)', pw1),
     h('label', {}, 'New password again', pw2), error, h('button', { type: 'submit' }, 'Change password'));
  main().replaceChildren(h('div', { class: 'panel login' }, h('h1', { text: 'Change password' }), form));
  old.focus();
}

// ---- batch list ----------------------------------------------------------------------------

async function renderBatches() {
  const seq = showBar('batches');
  const r = await api('GET', '/batches');
  if (!r.ok) return main(seq).replaceChildren(h('p', { class: 'feedback bad', text: r.error.message }));
  const rows = r.data.map((b) => h('tr', { class: 'clickable', 'data-batch': b.id,
                                          onclick: () => { location.hash = '#/batch/' + encodeURIComponent(b.id); } },
    h('td', {}, h('strong', { text: b.id })), h('td', { text: b.product }), h('td', { text: b.master }),
    h('td', { text: `${fmtNum(b.size)} kg` }),
    h('td', {}, h('span', { class: 'state ' + b.state, text: b.state })),
    h('td', { text: b.state === 'Complete' ? (b.disposition || 'awaiting QA') :
                    `step ${b.current_step} of ${b.steps}` })));
  const content = [h('div', { class: 'row' }, h('h1', { class: 'grow', text: 'Batches' }),
    hasRole('supervisor') ? h('button', { onclick: createBatch, 'data-test': 'new-batch' }, 'New batch') : null)];
  content.push(rows.length
    ? h('table', {}, h('thead', {}, h('tr', {}, ['Batch', 'Product', 'Master', 'Size', 'State', 'Progress']
        .map((t) => h('th', { text: t })))), h('tbody', {}, rows))
    : h('p', { class: 'muted', text: 'No batches yet.' }));
  main(seq).replaceChildren(...content);
}

async function createBatch() {
  const masters = await api('GET', '/masters');
  const approved = masters.ok ? masters.data.filter((m) => m.state === 'approved') : [];
  const v = await openDialog({
    title: 'New batch', confirm: 'Create',
    meaning: approved.length ? 'Approved masters: ' + approved.map((m) => m.id).join(', ') : 'No approved master.',
    fields: [{ name: 'id', label: 'Batch id' },
             { name: 'master', label: 'Master recipe', value: approved.length ? approved[0].id : '' },
             { name: 'size', label: 'Batch size (kg)', type: 'number', value: '100' }],
    submit: async (x) => {
      const r = await api('POST', '/batches', { id: x.id.trim(), master: x.master.trim(), size: Number(x.size) });
      return r.ok ? null : r.error.message;
    },
  });
  if (v) { toast(`Batch ${v.id} created`); location.hash = '#/batch/' + encodeURIComponent(v.id.trim()); }
}

// ---- batch execution -----------------------------------------------------------------------

const commandsByState = {
  Idle: ['Start'], Running: ['Hold', 'Stop', 'Abort'], Held: ['Restart', 'Stop', 'Abort'],
  Paused: ['Resume', 'Hold'], Stopped: ['Abort'],
};

async function renderBatch(id) {
  const seq = showBar('batches');
  const r = await api('GET', '/batches/' + encodeURIComponent(id));
  if (!r.ok) return main(seq).replaceChildren(h('p', { class: 'feedback bad', text: r.error.message }));
  const b = r.data;
  const phases = b.data.phases || [];
  const current = b.flow.current_step || 0;
  const commands = (commandsByState[b.state] || []).filter((c) =>
    hasRole('supervisor') || ['Start', 'Hold', 'Pause', 'Resume'].includes(c));
  const header = h('div', { class: 'panel' },
    h('div', { class: 'row' },
      h('h1', { class: 'grow' }, `Batch ${b.id} · ${b.data.product} · ${fmtNum(b.data.size)} ${b.data.size_unit}`),
      h('span', { class: 'state ' + b.state, 'data-test': 'batch-state', text: b.state })),
    h('div', { class: 'row' },
      h('span', { class: 'muted grow', text: `Master ${b.data.master} · created by ${b.data.created_by} ${fmtTime(b.data.created_at)}` }),
      ...commands.map((c) => h('button', {
        class: c === 'Start' || c === 'Restart' || c === 'Resume' ? '' : (c === 'Hold' ? 'warn' : 'danger'),
        'data-command': c, onclick: () => batchCommand(b.id, c) }, c)),
      hasRole('supervisor') || hasRole('qa')
        ? h('button', { class: 'secondary', onclick: () => { location.hash = '#/audit/' + encodeURIComponent(b.id); } }, 'Audit trail')
        : null));
  const chips = h('div', { class: 'steps' }, phases.map((p, i) => {
    const step = (b.steps || [])[i];
    const cls = step && step.state === 'complete' ? 'complete' : (i + 1 === current ? 'current' : '');
    return h('span', { class: 'chip ' + cls }, `${i + 1}. ${p.operation}`);
  }));
  const parts = [header, chips];
  if (b.state === 'Complete') {
    parts.push(h('div', { class: 'panel' }, h('h2', { text: 'Batch complete' }),
      renderOutput(b),
      h('p', { text: b.flow.disposition ? `QA disposition: ${b.flow.disposition}` : 'Waiting for QA review and release.' }),
      h('a', { class: 'button', href: `/api/v1/batches/${encodeURIComponent(b.id)}/record.html`,
               onclick: (e) => { e.preventDefault(); openRecord(b.id); } }, 'Printable batch record')));
  } else if (current >= 1 && current <= phases.length) {
    parts.push(renderStep(b, current, phases[current - 1], (b.steps || [])[current - 1]));
  }
  main(seq).replaceChildren(...parts);
}

// The batch's output (and its yield against the master's theoretical yield): recorded by the
// operator before QA review, optionally as an output lot for later batches (genealogy).
function renderOutput(b) {
  const d = b.data;
  const unit = d.size_unit || 'kg';
  const line = [];
  if (typeof d.output === 'number') {
    line.push(`Output ${fmtNum(d.output)} ${unit}` + (d.output_lot ? ` as lot ${d.output_lot}` : ''));
    if (d.theoretical_yield > 0 && d.base_size > 0) {
      const theoretical = d.theoretical_yield * d.size / d.base_size;
      const pct = d.output / theoretical * 100;
      const ok = pct >= d.yield_low_pct && pct <= d.yield_high_pct;
      line.push(`yield ${fmtNum(pct, 1)} % of theoretical (limits ${d.yield_low_pct}-${d.yield_high_pct} %)` +
                (ok ? '' : ' — OUTSIDE LIMITS'));
    }
  }
  const shown = h('p', { 'data-test': 'output', class: 'muted', text: line.length ? line.join(' · ') : 'No output recorded yet.' });
  if (b.flow.reviewed || !(hasRole('operator') || hasRole('supervisor'))) return shown;
  const quantity = h('input', { type: 'number', step: 'any', min: '0', 'data-test': 'output-quantity',
                                value: typeof d.output === 'number' ? d.output : '' });
  const lot = h('input', { type: 'text', maxlength: '64', placeholder: 'output lot (optional)',
                           'data-test': 'output-lot', value: d.output_lot || '' });
  return h('div', {}, shown, h('div', { class: 'row' },
    h('label', {}, `Output (${unit}) `, quantity), h('label', {}, 'Lot ', lot),
    h('button', { 'data-test': 'record-output', onclick: async () => {
      const body = { quantity: Number(quantity.value) };
      if (lot.value.trim()) body.lot = lot.value.trim();
      if (quantity.value === '' || !Number.isFinite(body.quantity)) { toast('Enter the output quantity', true); return; }
      const r = await api('POST', `/batches/${encodeURIComponent(b.id)}/output`, body);
      if (!r.ok) toast(r.error.message, true);
      else toast('Output recorded');
      renderBatch(b.id);
    } }, 'Record output')));
}

// The printable record needs the token, so it is fetched and shown from a blob.
async function openRecord(id) {
  const res = await fetch(`/api/v1/batches/${encodeURIComponent(id)}/record.html`,
                          { headers: { Authorization: 'Bearer ' + session.token,
                                       ...(terminalId ? { 'X-Terminal-Id': terminalId } : {}) } });
  if (!res.ok) { toast('The record could not be produced', true); return; }
  const url = URL.createObjectURL(await res.blob());
  window.open(url, '_blank', 'noopener');
}

async function batchCommand(id, command) {
  let reason = '';
  if (command !== 'Start' && command !== 'Resume') {
    const v = await reasonDialog(`${command} batch ${id}`, command, command !== 'Restart');
    if (!v) return;
    reason = v.reason.trim();
  }
  const r = await api('POST', `/batches/${encodeURIComponent(id)}/commands`, { command, reason });
  if (!r.ok) toast(r.error.message, true);
  else toast(`Batch ${id}: ${r.data.state}`);
  renderBatch(id);
}

function renderStep(b, n, phase, step) {
  const stepData = step ? step.data : {};
  const running = step && step.state === 'running';
  const base = `/batches/${encodeURIComponent(b.id)}/steps/${n}`;
  const panel = h('div', { class: 'panel', 'data-test': 'step' },
    h('div', { class: 'row' },
      h('h2', { class: 'grow' }, `Step ${n}: ${phase.phase}`),
      h('span', { class: 'state ' + (step ? step.state : 'pending'), text: step ? step.state : 'pending' })),
    h('p', { class: 'instructions', 'data-test': 'instructions', text: phase.instructions }));
  if (!running) {
    if (b.state !== 'Running') {
      panel.append(h('p', { class: 'muted', text: `The batch is ${b.state}: steps run only while it is Running.` }));
      return panel;
    }
    const row = h('div', { class: 'row' });
    let equipment = null;
    if (phase.equipment_class) {
      equipment = h('select', { name: 'equipment' });
      row.append(h('label', {}, `Equipment (${phase.equipment_class})`, equipment));
      api('GET', '/equipment').then((r) => {
        if (!r.ok) return;
        for (const e of r.data.filter((x) => x.data.class === phase.equipment_class)) {
          equipment.append(h('option', { value: e.id }, `${e.id} — ${e.data.name} (${e.state})`));
        }
      });
    }
    row.append(h('button', { 'data-test': 'start-step', onclick: async () => {
      const r = await api('POST', base + '/start', equipment ? { equipment: equipment.value } : {});
      if (!r.ok) toast(r.error.message, true);
      renderBatch(b.id);
    } }, 'Start step'));
    panel.append(row);
    return panel;
  }
  panel.append(h('p', { class: 'muted', text: `Started by ${stepData.started_by} ${fmtTime(stepData.started_at)}` +
                                               (stepData.equipment ? ` on ${stepData.equipment}` : '') }));
  const scale = (b.data.size || 0) / (b.data.base_size || 1);
  for (const charge of phase.charges || []) panel.append(renderCharge(b, base, charge, scale, stepData));
  for (const p of phase.parameters || []) panel.append(renderParameter(b, base, p, (stepData.parameters || {})[p.name]));
  const verified = step.flow && step.flow.verified_by;
  const actions = h('div', { class: 'row' });
  if (phase.second_person_verification) {
    actions.append(verified
      ? h('span', { class: 'feedback ok', text: `Verified by ${step.flow.verified_by}` })
      : h('button', { class: 'secondary', 'data-test': 'verify', onclick: () => verifyStep(b, n) },
          'Second-person verification'));
  }
  actions.append(h('span', { class: 'grow' }),
    h('button', { 'data-test': 'complete-step', onclick: async () => {
      const r = await api('POST', base + '/complete', {});
      if (!r.ok) toast(r.error.message, true);
      else toast(`Step ${n} complete`);
      renderBatch(b.id);
    } }, 'Complete step'));
  panel.append(actions);
  return panel;
}

function renderParameter(b, base, spec, entered) {
  const input = h('input', { type: 'number', step: 'any', name: spec.name,
                             value: entered ? entered.value : '', 'data-parameter': spec.name });
  const feedback = h('span', { class: 'feedback' });
  const check = () => {
    const v = Number(input.value);
    if (input.value === '') { feedback.textContent = ''; return; }
    const inside = v >= spec.low && v <= spec.high;
    feedback.className = 'feedback ' + (inside ? 'ok' : 'bad');
    feedback.textContent = inside ? 'within limits'
      : `OUT OF LIMITS (${spec.low}–${spec.high}): saving opens a deviation`;
  };
  input.addEventListener('input', check);
  check();
  if (entered && !entered.in_limits) {
    feedback.className = 'feedback bad';
    feedback.textContent = 'recorded out of limits — deviation opened';
  }
  const save = h('button', { class: 'secondary', onclick: async () => {
    let reason = '';
    if (entered) {
      const v = await reasonDialog(`Change ${spec.name}`, 'Change');
      if (!v) return;
      reason = v.reason.trim();
    }
    const r = await api('POST', base + '/parameters', { name: spec.name, value: Number(input.value), reason });
    if (!r.ok) toast(r.error.message, true);
    else toast(r.data.in_limits ? `${spec.name} recorded` : `${spec.name} recorded OUT OF LIMITS: deviation opened`, !r.data.in_limits);
    renderBatch(b.id);
  } }, entered ? 'Change' : 'Record');
  return h('div', { class: 'row parameter', 'data-test': 'parameter' },
    h('label', { class: 'grow' }, `${spec.name} (${spec.unit})`,
      h('span', { class: 'limits', text: `target ${spec.target} · limits ${spec.low}–${spec.high}` })),
    input, save, feedback,
    entered && entered.changed ? h('span', { class: 'changed', text: 'changed' }) : null);
}

function renderCharge(b, base, charge, scale, stepData) {
  const target = charge.quantity * scale;
  const low = target * (1 - charge.tolerance_pct / 100);
  const high = target * (1 + charge.tolerance_pct / 100);
  const done = (stepData.weighings || []).filter((w) => w.material === charge.material);
  const accepted = done.find((w) => w.accepted);
  const box = h('div', { class: 'panel', 'data-charge': charge.material },
    h('div', { class: 'row' },
      h('strong', { class: 'grow', text: `Weigh ${charge.material}` }),
      h('span', { class: 'limits', text: `target ${fmtNum(target)} ${charge.unit} ± ${charge.tolerance_pct} % → ${fmtNum(low)}–${fmtNum(high)} ${charge.unit}` })));
  for (const w of done) {
    box.append(h('div', { class: 'feedback ' + (w.accepted ? 'ok' : 'bad') },
      `${fmtTime(w.at)} · lot ${w.lot} · net ${fmtNum(w.net)} ${charge.unit} · ` +
      (w.accepted ? 'accepted' : 'REFUSED: out of tolerance (kept for QA review)')));
  }
  if (accepted) return box;
  const lot = h('select', { name: 'lot' });
  const scaleSel = h('select', { name: 'scale' });
  api('GET', '/lots').then((r) => {
    if (!r.ok) return;
    for (const l of r.data.filter((x) => x.data.material === charge.material && x.state === 'released')) {
      lot.append(h('option', { value: l.id }, l.id));
    }
  });
  api('GET', '/equipment').then((r) => {
    if (!r.ok) return;
    for (const e of r.data.filter((x) => x.data.class === 'scale')) scaleSel.append(h('option', { value: e.id }, e.id));
  });
  const gross = h('input', { type: 'number', step: 'any', name: 'gross' });
  const tare = h('input', { type: 'number', step: 'any', name: 'tare', value: '0' });
  const live = h('div', { class: 'feedback', 'data-test': 'tolerance' });
  const update = () => {
    if (gross.value === '') { live.textContent = ''; return; }
    const net = Number(gross.value) - Number(tare.value || 0);
    const inside = net >= low && net <= high;
    live.className = 'feedback ' + (inside ? 'ok' : 'bad');
    live.textContent = `net ${fmtNum(net)} ${charge.unit}: ` + (inside ? 'within tolerance'
      : (net < low ? `${fmtNum(low - net)} ${charge.unit} under` : `${fmtNum(net - high)} ${charge.unit} over`) + ' tolerance');
  };
  gross.addEventListener('input', update);
  tare.addEventListener('input', update);
  const record = h('button', { onclick: async () => {
    const r = await api('POST', base + '/weighings', { material: charge.material, scale: scaleSel.value,
      lot: lot.value, gross: Number(gross.value), tare: Number(tare.value || 0) });
    if (!r.ok) toast(r.error.code === 'out_of_tolerance' ? `Weighing refused: ${r.error.message}` : r.error.message, true);
    else toast(`${charge.material}: net ${fmtNum(r.data.net)} ${charge.unit} accepted`);
    renderBatch(b.id);
  } }, 'Record weighing');
  box.append(h('div', { class: 'row' }, h('label', {}, 'Scale', scaleSel), h('label', {}, 'Lot', lot),
    h('label', {}, `Gross (${charge.unit})`, gross), h('label', {}, `Tare (${charge.unit})`, tare), record), live);
  return box;
}

async function verifyStep(b, n) {
  const done = await signDialog({
    title: `Second-person verification of step ${n}`,
    meaning: 'Meaning of this signature: "verified" — I have checked the entries and weighings of this step. ' +
             'The verifier must not have performed the step and signs with their own user id and password.',
    askUser: true, userHint: 'verifier', confirm: 'Sign as verifier',
    call: (v, signature) => api('POST', `/batches/${encodeURIComponent(b.id)}/steps/${n}/verify`, { signature }),
  });
  if (done) toast(`Step ${n} verified by ${done.user_id}`);
  renderBatch(b.id);
}

// ---- alarms --------------------------------------------------------------------------------

async function renderAlarms() {
  const seq = showBar('alarms');
  const r = await api('GET', '/alarms?active=1');
  if (!r.ok) return main(seq).replaceChildren(h('p', { class: 'feedback bad', text: r.error.message }));
  const list = r.data.map((a) => h('div', { class: `panel alarm-${a.data.level}`, 'data-alarm': a.id },
    h('div', { class: 'row' },
      h('strong', { class: 'grow', text: `${a.data.level.toUpperCase()} · ${a.data.room} · ${a.data.sensor} (${a.data.kind})` }),
      h('span', { text: a.data.level === 'data_gap' ? 'no readings' : `${fmtNum(a.data.value, 2)} ${a.data.unit}` }),
      h('span', { class: 'muted', text: fmtTime(a.data.at) }),
      h('button', { onclick: () => acknowledge(a) }, 'Acknowledge')),
    (a.data.batches || []).length ? h('div', { class: 'muted', text: 'Batches in the room: ' + a.data.batches.join(', ') }) : null));
  main(seq).replaceChildren(h('h1', { text: 'Active alarms' }),
    list.length ? h('div', {}, list) : h('p', { class: 'muted', text: 'No active alarms.' }));
  refreshAlarmCount();
}

async function acknowledge(alarm) {
  const done = await signDialog({
    title: `Acknowledge ${alarm.data.level} alarm of ${alarm.data.sensor}`,
    meaning: 'Meaning of this signature: "reviewed" — I have seen this alarm and recorded what was done.',
    extra: [{ name: 'comment', label: 'Comment (what was done)', type: 'textarea' }],
    call: (v, signature) => api('POST', `/alarms/${encodeURIComponent(alarm.id)}/acknowledge`,
                                { comment: v.comment.trim(), signature }),
  });
  if (done) toast('Alarm acknowledged');
  renderAlarms();
}

// ---- training (21 CFR 11.10(i)) -------------------------------------------------------------

async function renderTraining() {
  const seq = showBar('training');
  const r = await api('GET', '/trainings');
  if (!r.ok) return main(seq).replaceChildren(h('p', { class: 'feedback bad', text: r.error.message }));
  const rows = r.data.map((t) => h('tr', { 'data-training': t.id },
    h('td', {}, h('strong', { text: t.trainee })), h('td', { text: t.procedure }),
    h('td', { text: t.content }), h('td', { text: t.trainer }), h('td', { text: fmtTime(t.trained_at) }),
    h('td', { text: t.valid_until ? fmtTime(t.valid_until) : 'no expiry' }),
    h('td', {}, h('button', { class: 'secondary', onclick: () => withdrawTraining(t) }, 'Withdraw'))));
  main(seq).replaceChildren(
    h('div', { class: 'row' }, h('h1', { class: 'grow', text: 'Training records' }),
      h('button', { 'data-test': 'record-training', onclick: recordTraining }, 'Record training')),
    h('p', { class: 'muted', text: 'A step is executed or verified only by someone with a current training ' +
      'for its master recipe (master:<product>) or its step type (phase:<phase name>).' }),
    rows.length
      ? h('table', {}, h('thead', {}, h('tr', {}, ['Trainee', 'Procedure', 'Training', 'Trainer', 'Recorded',
                                                   'Valid until', ''].map((t) => h('th', { text: t })))),
          h('tbody', {}, rows))
      : h('p', { class: 'muted', text: 'No training recorded.' }));
}

async function recordTraining() {
  const done = await signDialog({
    title: 'Record a training',
    meaning: 'Meaning of this signature: "approved" — I trained this person on this procedure and ' +
             'found them competent. The trainer signs; nobody records their own training.',
    extra: [{ name: 'trainee', label: 'Trainee (user id)' },
            { name: 'procedure', label: 'Procedure', placeholder: 'master:PARA-500 or phase:Wet granulation' },
            { name: 'content', label: 'What the training was (SOP, revision, assessment)', type: 'textarea' },
            { name: 'valid_until', label: 'Valid until (empty: no expiry)', type: 'date' }],
    call: (v, signature) => {
      const body = { trainee: v.trainee.trim(), procedure: v.procedure.trim(), content: v.content.trim(), signature };
      if (v.valid_until) body.valid_until = new Date(v.valid_until + 'T00:00:00Z').toISOString();
      return api('POST', '/trainings', body);
    },
  });
  if (done) toast('Training recorded and signed');
  renderTraining();
}

async function withdrawTraining(t) {
  const v = await reasonDialog(`Withdraw training ${t.id} of ${t.trainee}`, 'Withdraw', true);
  if (!v) return;
  const r = await api('POST', `/trainings/${encodeURIComponent(t.id)}/withdraw`, { reason: v.reason.trim() });
  toast(r.ok ? `Training ${t.id} withdrawn` : r.error.message, !r.ok);
  renderTraining();
}

// ---- QA ------------------------------------------------------------------------------------

async function renderQa() {
  const seq = showBar('qa');
  const r = await api('GET', '/batches');
  if (!r.ok) return main(seq).replaceChildren(h('p', { class: 'feedback bad', text: r.error.message }));
  const waiting = r.data.filter((b) => ['Complete', 'Stopped', 'Aborted'].includes(b.state) && !b.disposition);
  main(seq).replaceChildren(h('h1', { text: 'QA review and release' }),
    waiting.length
      ? h('table', {}, h('thead', {}, h('tr', {}, ['Batch', 'Product', 'State', ''].map((t) => h('th', { text: t })))),
          h('tbody', {}, waiting.map((b) => h('tr', { class: 'clickable', 'data-batch': b.id,
            onclick: () => { location.hash = '#/qa/' + encodeURIComponent(b.id); } },
            h('td', {}, h('strong', { text: b.id })), h('td', { text: b.product }),
            h('td', {}, h('span', { class: 'state ' + b.state, text: b.state })), h('td', { text: 'review →' })))))
      : h('p', { class: 'muted', text: 'No batch waits for QA.' }));
}

async function renderQaBatch(id) {
  const seq = showBar('qa');
  const path = '/batches/' + encodeURIComponent(id);
  const [b, ex] = await Promise.all([api('GET', path), api('GET', path + '/exceptions')]);
  if (!b.ok) return main(seq).replaceChildren(h('p', { class: 'feedback bad', text: b.error.message }));
  const exceptions = ex.ok ? ex.data : [];
  const reviewed = !!b.data.flow.reviewed;
  const parts = [
    h('div', { class: 'panel' }, h('div', { class: 'row' },
      h('h1', { class: 'grow' }, `QA · batch ${id} · ${b.data.data.product}`),
      h('span', { class: 'state ' + b.data.state, text: b.data.state })),
      h('div', { class: 'row' },
        h('button', { class: 'secondary', onclick: () => openRecord(id) }, 'Printable batch record'),
        h('button', { class: 'secondary', onclick: () => { location.hash = '#/audit/' + encodeURIComponent(id); } }, 'Audit trail'))),
    h('h2', { text: `Review by exception (${exceptions.length})` }),
    exceptions.length
      ? h('div', { 'data-test': 'exceptions' }, exceptions.map((e) => h('div', { class: 'exception' },
          h('strong', { text: e.kind.replace(/_/g, ' ') }),
          [e.step, e.detail, e.at].filter((x) => x).map((x) => ` · ${x}`).join(''))))
      : h('p', { class: 'muted', 'data-test': 'exceptions', text: 'No exceptions: the record can be reviewed as a whole.' }),
  ];
  const actions = h('div', { class: 'row' });
  if (!reviewed) {
    actions.append(h('button', { 'data-test': 'mark-reviewed', onclick: async () => {
      const done = await signDialog({
        title: `Review of batch ${id}`,
        meaning: `Meaning of this signature: "reviewed" — I have reviewed the ${exceptions.length} exception(s) of this batch record.`,
        call: (v, signature) => api('POST', path + '/review', { signature }),
      });
      if (done) toast('Review signed');
      renderQaBatch(id);
    } }, 'Sign review'));
  } else {
    actions.append(h('span', { class: 'feedback ok', text: 'Review signed.' }));
  }
  const decide = (decision) => async () => {
    const done = await signDialog({
      title: `${decision === 'release' ? 'Release' : 'Reject'} batch ${id}`,
      meaning: `Meaning of this signature: "${decision === 'release' ? 'released' : 'rejected'}" — ` +
               (decision === 'release' ? 'the batch meets its specification and is released for use.'
                                       : 'the batch is rejected and must not be used.'),
      extra: [{ name: 'reason', label: 'Reason / remark', type: 'textarea' }],
      confirm: decision === 'release' ? 'Sign release' : 'Sign rejection',
      call: (v, signature) => api('POST', path + '/release', { decision, reason: v.reason.trim(), signature }),
    });
    if (done) toast(`Batch ${id} ${decision === 'release' ? 'released' : 'rejected'}`);
    renderQaBatch(id);
  };
  if (b.data.flow.disposition) {
    actions.append(h('span', { class: 'feedback ok', 'data-test': 'disposition', text: `Disposition: ${b.data.flow.disposition}` }));
  } else {
    actions.append(h('span', { class: 'grow' }),
      h('button', { class: 'danger', onclick: decide('reject') }, 'Reject'),
      h('button', { 'data-test': 'release', onclick: decide('release') }, 'Release'));
  }
  parts.push(h('div', { class: 'panel' }, actions));
  main(seq).replaceChildren(...parts);
}

// ---- audit trail ---------------------------------------------------------------------------

async function renderAudit(id) {
  const seq = showBar(hasRole('qa') ? 'qa' : 'batches');
  const b = await api('GET', '/batches/' + encodeURIComponent(id));
  if (!b.ok) return main(seq).replaceChildren(h('p', { class: 'feedback bad', text: b.error.message }));
  const objects = [['batch', id], ...(b.data.steps || []).map((s) => ['step', s.id])];
  const trails = await Promise.all(objects.map(([t, o]) =>
    api('GET', `/audit?object_type=${t}&object_id=${encodeURIComponent(o)}`)));
  const failed = trails.find((t) => !t.ok);
  if (failed) return main(seq).replaceChildren(h('p', { class: 'feedback bad', text: failed.error.message }));
  const entries = trails.flatMap((t) => t.data).sort((x, y) => x.seq - y.seq);
  main(seq).replaceChildren(
    h('div', { class: 'row' }, h('h1', { class: 'grow', text: `Audit trail of batch ${id}` }),
      h('button', { class: 'secondary', onclick: () => { location.hash = '#/batch/' + encodeURIComponent(id); } }, 'Back to batch')),
    h('table', { class: 'audit', 'data-test': 'audit' },
      h('thead', {}, h('tr', {}, ['#', 'UTC time', 'Who', 'Where', 'Action', 'Object', 'Field', 'Old', 'New', 'Reason']
        .map((t) => h('th', { text: t })))),
      h('tbody', {}, entries.map((e) => h('tr', {},
        h('td', { text: e.seq }), h('td', { text: e.at.replace('T', ' ') }), h('td', { text: e.actor }),
        h('td', { text: e.terminal || '' }),
        h('td', { text: e.action }), h('td', { text: `${e.object_type} ${e.object_id}` }), h('td', { text: e.field }),
        h('td', { text: e.old_value }), h('td', { text: e.new_value }), h('td', { text: e.reason }))))));
}

// ---- routing -------------------------------------------------------------------------------

function route() {
  if (!session.token) return renderLogin('');
  const [, view, arg] = location.hash.split('/').map(decodeURIComponent);
  refreshAlarmCount();
  switch (view) {
    case 'batch': return renderBatch(arg);
    case 'alarms': return renderAlarms();
    case 'qa': return arg ? renderQaBatch(arg) : renderQa();
    case 'audit': return renderAudit(arg);
    case 'training': return renderTraining();
    default: return renderBatches();
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  document.getElementById('logout').addEventListener('click', async () => {
    await api('POST', '/logout', {});
    endSession('Logged out.');
  });
  const clock = document.getElementById('clock');
  const tick = () => { clock.textContent = new Date().toISOString().slice(11, 19) + ' UTC'; };
  tick();
  setInterval(tick, 1000);
  setInterval(refreshAlarmCount, 10000);
  route();
});
