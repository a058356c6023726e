// The operator page (src/admin/admin_api.hpp): reads /admin/api with the operator's bearer token
// (kept in sessionStorage, this tab only) and acts on dead letters after a confirmation. Every
// piece of data is put into the page with textContent, never as HTML.
'use strict';

const TOKEN_KEY = 'order-service.operator-token';
const REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);

/** An element with attributes, text and children; text always through textContent. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

/** fetch with the token; JSON in and out; a problem+json answer becomes an ApiError. */
async function api(path, options = {}) {
  const headers = { Accept: 'application/json', Authorization: 'Bearer ' + token() };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method: options.method || 'GET', headers, cache: 'no-store', credentials: 'omit',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  if (!response.ok) {
    const detail = body && (body.detail || body.title) ? (body.detail || body.title) : text;
    throw new ApiError(response.status, `${response.status}: ${detail}`);
  }
  return body;
}

function showBanner(message) {
  const banner = $('banner');
  banner.textContent = message || '';
  banner.hidden = !message;
}

function badge(state) {
  const good = ['connected', 'ok', 'published'];
  const bad = ['degraded', 'blocked', 'stopped', 'reconnecting', 'disabled'];
  const kind = good.includes(state) ? 'ok' : bad.includes(state) ? 'bad' : 'warn';
  return el('span', { class: `badge ${kind}`, text: state });
}

function seconds(value) {
  if (value === null || value === undefined) return '–';
  if (value < 120) return `${value.toFixed(1)} s`;
  if (value < 7200) return `${(value / 60).toFixed(1)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

// --- Confirmation dialog ------------------------------------------------------------------------

/** Resolves true when the operator clicks Confirm. */
function confirmAction(text, ids, okLabel) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  const list = $('confirm-list');
  list.replaceChildren(...ids.slice(0, 50).map((id) => el('li', { text: id })));
  if (ids.length > 50) list.append(el('li', { text: `… and ${ids.length - 50} more` }));
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = 'cancel';
    dialog.showModal();
  });
}

// --- Relay and consumers ------------------------------------------------------------------------

async function loadRelay() {
  const r = await api('/admin/api/relay');
  const rate = r.publishRatePerSecond === null ? 'measuring…' : `${r.publishRatePerSecond.toFixed(2)} /s`;
  const rows = [
    ['State', badge(r.state)],
    ['Reason', r.reason || '–'],
    ['Backlog', r.backlog === undefined ? '–' : `${r.backlog} event(s)`],
    ['Oldest pending', seconds(r.oldestPendingAgeSeconds)],
    ['Publish rate', rate],
    ['Published', r.published === undefined ? '–' : r.published],
    ['In flight', r.inFlight === undefined ? '–' : r.inFlight],
    ['Last error', r.lastError || '–'],
  ];
  $('relay').replaceChildren(...rows.flatMap(([name, value]) =>
    [el('dt', { text: name }), el('dd', { 'data-field': name.toLowerCase() }, value)]));
}

function queueText(state) {
  if (!state) return '–';
  if (state.error) return state.error;
  return `${state.messagesReady} / ${state.consumers}`;
}

async function loadConsumers() {
  const { consumers } = await api('/admin/api/consumers');
  $('consumers').tBodies[0].replaceChildren(...consumers.map((c) => el('tr', {},
    el('td', {}, el('div', { text: c.name }), el('div', { class: 'muted mono', text: c.queue })),
    el('td', {}, badge(c.state)),
    el('td', { text: c.applied ?? '–' }),
    el('td', { text: c.deadLettered ?? '–' }),
    el('td', { text: queueText(c.queueState) }),
    el('td', { class: 'dlq-ready', text: c.dlqState && !c.dlqState.error ? c.dlqState.messagesReady : queueText(c.dlqState) }))));
}

// --- Order history ------------------------------------------------------------------------------

async function showOrder(orderId) {
  const status = $('history-status');
  const table = $('events');
  status.textContent = 'Loading…';
  try {
    const history = await api(`/admin/api/orders/${encodeURIComponent(orderId)}/events`);
    table.tBodies[0].replaceChildren(...history.events.map((e) => el('tr', { 'data-message-type': e.messageType },
      el('td', { text: e.sequence }),
      el('td', {}, el('details', {},
        el('summary', { text: `${e.messageType} ${e.messageVersion}` }),
        el('pre', { text: JSON.stringify(e.envelope, null, 2) }))),
      el('td', { class: 'mono', text: e.timestamp }),
      el('td', {}, e.publishedAt ? el('span', { class: 'mono', text: e.publishedAt }) : badge('pending')),
      el('td', { class: 'mono', text: e.traceId || '–' }),
      el('td', { class: 'mono', text: e.messageId }))));
    table.hidden = false;
    status.textContent = `${history.events.length} event(s) of order ${history.orderId}`;
  } catch (error) {
    table.hidden = true;
    status.textContent = error.message;
  }
}

// --- Dead letters -------------------------------------------------------------------------------

async function act(queue, action, body, ids) {
  const verb = action === 'replay' ? 'Replay' : 'Discard';
  const what = action === 'replay'
    ? `Send ${ids.length} message(s) back to ${queue}? Each is published with a confirm before it leaves the DLQ.`
    : `Delete ${ids.length} message(s) from ${queue}.dlq for good? This cannot be undone.`;
  if (!(await confirmAction(what, ids, verb))) return;
  const status = $('dlq-status');
  try {
    const payload = action === 'discard' ? { ...body, confirm: 'discard' } : body;
    const result = await api(`/admin/api/dead-letters/${encodeURIComponent(queue)}/${action}`,
      { method: 'POST', body: payload });
    const done = action === 'replay' ? result.replayed : result.discarded;
    const problems = (result.problems || []).concat(result.notFound || [], result.notReplayed || []);
    status.textContent = `${action === 'replay' ? 'Replayed' : 'Discarded'} ${done.length} message(s)` +
      (problems.length ? `; not done: ${problems.join('; ')}` : '');
  } catch (error) {
    status.textContent = `${verb} failed, the messages stay in the DLQ: ${error.message}`;
  }
  await refresh(true);
  if ($('order-id').value) await showOrder($('order-id').value.trim());
}

async function inspect(queue, messageId) {
  try {
    const letter = await api(`/admin/api/dead-letters/${encodeURIComponent(queue)}/messages/${encodeURIComponent(messageId)}`);
    $('inspect-title').textContent = `${letter.messageType || 'message'} ${letter.messageId}`;
    $('inspect-body').textContent = JSON.stringify(letter, null, 2);
    $('inspect').showModal();
  } catch (error) {
    $('dlq-status').textContent = error.message;
  }
}

function renderQueue(q) {
  const box = el('div', { class: 'queue', 'data-queue': q.queue });
  box.append(el('h3', { text: `${q.name} · ${q.dlq}` }));
  if (q.error) { box.append(el('p', { class: 'error', text: q.error })); return box; }
  box.append(el('p', { class: 'muted dlq-count', text: `${q.count} message(s)${q.truncated ? ' (the first shown)' : ''}` }));
  if (q.count === 0) return box;
  for (const g of q.groups) {
    box.append(el('div', { class: 'group', 'data-group-id': g.groupId },
      el('div', { class: 'reason', text: g.exampleReason || g.reasonClass || '(no reason recorded)' }),
      el('div', { class: 'muted', text: `${g.count} × ${g.messageType || '?'} · ${g.failureKind || '?'} · ${g.firstFailedAt || '?'} – ${g.lastFailedAt || '?'}` }),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'replay-group', text: 'Replay group',
          onclick: () => act(q.queue, 'replay', { groupId: g.groupId }, g.messageIds) }))));
  }
  const selected = new Set();
  const rows = q.messages.map((m) => el('tr', { 'data-message-id': m.messageId },
    el('td', {}, el('input', { type: 'checkbox', 'aria-label': `select ${m.messageId}`,
      onchange: (event) => { if (event.target.checked) selected.add(m.messageId); else selected.delete(m.messageId); } })),
    el('td', { class: 'mono', text: m.messageId }),
    el('td', { text: m.messageType || '–' }),
    el('td', { class: 'failure-reason' }, el('div', { text: m.failureReason || '–' }),
      el('div', { class: 'muted', text: `${m.failureKind || ''} · attempts ${m.attempts}` })),
    el('td', { class: 'mono', text: m.failedAt || '–' }),
    el('td', {}, el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'inspect', text: 'Inspect', onclick: () => inspect(q.queue, m.messageId) }),
      el('button', { type: 'button', class: 'replay', text: 'Replay',
        onclick: () => act(q.queue, 'replay', { messageIds: [m.messageId] }, [m.messageId]) }),
      el('button', { type: 'button', class: 'discard', text: 'Discard',
        onclick: () => act(q.queue, 'discard', { messageIds: [m.messageId] }, [m.messageId]) })))));
  box.append(el('div', { class: 'actions' },
    el('button', { type: 'button', class: 'replay-selected', text: 'Replay selected',
      onclick: () => selected.size && act(q.queue, 'replay', { messageIds: [...selected] }, [...selected]) }),
    el('button', { type: 'button', class: 'discard-selected', text: 'Discard selected',
      onclick: () => selected.size && act(q.queue, 'discard', { messageIds: [...selected] }, [...selected]) })));
  box.append(el('div', { class: 'scroll' }, el('table', { class: 'letters' },
    el('thead', {}, el('tr', {}, ...['', 'Message id', 'Type', 'Reason', 'Failed at', ''].map((h) => el('th', { text: h })))),
    el('tbody', {}, ...rows))));
  return box;
}

async function loadDeadLetters() {
  const { queues } = await api('/admin/api/dead-letters');
  $('dead-letters').replaceChildren(...queues.map(renderQueue));
}

// --- Catalogue ----------------------------------------------------------------------------------

async function loadCatalogue() {
  const { eventTypes } = await api('/admin/api/event-catalogue');
  $('catalogue').replaceChildren(...eventTypes.map((t) => el('details', { class: 'catalogue-type' },
    el('summary', {}, `${t.messageType} `, el('span', { class: 'muted', text: `${t.direction} · ${t.versions.map((v) => v.version + (v.published ? '*' : '')).join(', ')}` })),
    ...t.versions.map((v) => el('div', { class: 'card' },
      el('div', {}, el('strong', { text: `${v.version} ` }), badge(v.status),
        v.routingKey ? el('span', { class: 'muted mono', text: ` routing key ${v.routingKey}` }) : null,
        ' ', el('a', { href: v.href, text: 'schema' })),
      v.description ? el('p', { text: v.description }) : null,
      v.payloadFields && v.payloadFields.length ? el('div', { class: 'scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, el('th', { text: 'Payload field' }), el('th', { text: 'Type' }), el('th', { text: 'Required' }))),
        el('tbody', {}, ...v.payloadFields.map((f) => el('tr', {},
          el('td', { class: 'mono', text: f.name }),
          el('td', { text: Array.isArray(f.type) ? f.type.join(' | ') : (f.type || '–') }),
          el('td', { text: f.required ? 'yes' : '' })))))) : null)))));
}

// --- Start --------------------------------------------------------------------------------------

let timer = null;

/** Relay and consumers every few seconds; the dead letters only with `withDeadLetters`: listing
 * them reads each message and gives it back (the broker counts a redelivery), so they are read
 * on start, after an action and on "Refresh", never on a timer. */
async function refresh(withDeadLetters) {
  try {
    await Promise.all([loadRelay(), loadConsumers(), withDeadLetters ? loadDeadLetters() : null]);
    showBanner('');
  } catch (error) {
    if (error.status === 401 || error.status === 403) return signOut(error.message);
    showBanner(error.message);
  }
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (timer) clearInterval(timer);
  timer = null;
  $('console').hidden = true;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = reason || '';
}

async function start() {
  $('sign-in').hidden = true;
  $('console').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = 'signed in with a token';
  await refresh(true);
  if (!token()) return;  // refused: signed out
  loadCatalogue().catch((error) => showBanner(error.message));
  timer = setInterval(() => {
    if (!$('confirm').open && !$('inspect').open) refresh(false);
  }, REFRESH_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token-input').value = '';
    start();
  });
  $('sign-out').addEventListener('click', () => signOut(''));
  $('dlq-refresh').addEventListener('click', () => refresh(true));
  $('order-form').addEventListener('submit', (event) => {
    event.preventDefault();
    showOrder($('order-id').value.trim());
  });
  if (token()) start(); else signOut('');
});
