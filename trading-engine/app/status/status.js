// The venue's status page: polls /status.json every two seconds and fills the tiles and tables.
// No framework, no CDN; text only through textContent (nothing from the server becomes HTML).
'use strict';

const $ = (id) => document.getElementById(id);
const money = (v) => (v === null || v === undefined ? '–'
  : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const count = (v) => (v === null || v === undefined ? '–' : v.toLocaleString('en-US'));
const pct = (v) => (v === null || v === undefined ? '–' : (100 * v).toFixed(v >= 0.999 && v < 1 ? 2 : 1) + ' %');
const ms = (seconds) => (seconds === null || seconds === undefined ? '–' : (1000 * seconds).toFixed(2) + ' ms');

function cell(row, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function fill(tableId, items, render) {
  const body = $(tableId).querySelector('tbody');
  body.replaceChildren();
  for (const item of items) {
    const tr = document.createElement('tr');
    render(tr, item);
    body.appendChild(tr);
  }
}

function usage(used, limit) {
  if (limit === null || limit === undefined || limit === 0) return ['no limit', ''];
  const r = used / limit;
  return [pct(r), r >= 1 ? 'num bad' : r >= 0.8 ? 'num warn' : 'num'];
}

function render(d) {
  $('role').textContent = d.role;
  const verdict = d.guardrail ? d.guardrail.verdict : 'unknown';
  $('verdict').textContent = 'guardrail: ' + verdict;
  $('verdict').className = 'pill ' + verdict;
  const latency = d.guardrail && d.guardrail.slos.find((s) => s.kind === 'latency');
  $('latency').textContent = latency ? ms(latency.value) : '–';
  $('latency').className = 'value ' + (latency && latency.value !== null ? (latency.ok ? 'ok' : 'bad') : '');
  const within = d.orders.acknowledged_within_50ms;
  $('within').textContent = pct(within);
  $('within').className = 'value ' + (within === null ? '' : within >= 0.99 ? 'ok' : 'bad');
  $('orders').textContent = count(d.orders.accepted) + ' / ' + count(d.orders.rejected);
  $('trades').textContent = count(d.orders.trades);
  $('sessions').textContent = d.sessions.connected + ' of ' + d.sessions.configured;
  const stopped = d.venue.halted || d.venue.killed;
  $('venue-state').textContent = d.venue.killed ? 'KILLED' : d.venue.halted ? 'HALTED' : 'trading';
  $('venue-state').className = 'value ' + (stopped ? 'bad' : 'ok');
  fill('slos', d.guardrail ? d.guardrail.slos : [], (tr, s) => {
    cell(tr, s.name);
    cell(tr, s.value === null ? 'no samples' : s.kind === 'latency' ? ms(s.value) : pct(s.value));
    cell(tr, s.kind === 'latency' ? '≤ ' + ms(s.objective) : '≥ ' + pct(s.objective));
    cell(tr, s.ok ? 'met' : 'BREACHED', s.ok ? 'ok' : 'bad');
  });
  fill('symbols', d.symbols, (tr, s) => {
    cell(tr, s.symbol);
    cell(tr, s.last_price === null ? '–' : money(s.last_price), 'num');
    cell(tr, count(s.volume), 'num');
    cell(tr, money(s.notional), 'num');
    cell(tr, count(s.trades), 'num');
    cell(tr, count(s.market_data_updates), 'num');
    cell(tr, s.halted ? 'HALTED' : 'trading', s.halted ? 'bad' : 'ok');
  });
  fill('accounts', d.accounts, (tr, a) => {
    cell(tr, a.account);
    const positions = Object.entries(a.positions).map(([sym, q]) => sym + ' ' + q.toLocaleString('en-US'));
    cell(tr, positions.length ? positions.join(', ') : 'flat');
    cell(tr, money(a.realised_pnl), 'num');
    cell(tr, money(a.unrealised_pnl), 'num');
    const [credit, creditCls] = usage(a.open_order_exposure, a.credit_limit);
    cell(tr, credit, creditCls);
    const [position, positionCls] = usage(a.largest_position, a.position_limit);
    cell(tr, position, positionCls);
    cell(tr, a.value_at_risk === null ? 'after ' + 30 + ' s of prices' : money(a.value_at_risk), 'num');
    cell(tr, a.kill_switch ? 'ENGAGED' : 'off', a.kill_switch ? 'bad' : 'ok');
  });
  const rejects = Object.entries(d.rejects).sort((x, y) => y[1] - x[1]);
  fill('rejects', rejects.length ? rejects : [['none', 0]], (tr, [reason, n]) => {
    cell(tr, reason.replaceAll('_', ' '));
    cell(tr, count(n), 'num');
  });
}

async function refresh() {
  try {
    const response = await fetch('/status.json', { cache: 'no-store' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    render((await response.json()).data);
    $('error').hidden = true;
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString('en-GB');
  } catch (e) {
    $('error').hidden = false;
    $('error').textContent = 'The venue does not answer (' + e.message + '): the figures below are stale.';
  }
}

refresh();
setInterval(refresh, 2000);
