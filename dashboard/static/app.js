// filefleet web UI: one page, hash routes, data from /api/v1 with the user's access token.
// Every piece of data reaches the DOM as text (el() appends strings as text nodes).
'use strict';

const API = '/api/v1';
const EVENT_TYPES = ['job_progress', 'job_completed', 'job_failed', 'job_canceled', 'error',
  'duplicate_detected', 'organize_progress', 'organize_complete'];
const TERMINAL = ['succeeded', 'failed', 'canceled'];

// ---- DOM helpers ----

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function table(headers, rows) {
  return el('table', {}, el('thead', {}, el('tr', {}, headers.map(h => el('th', {}, h)))),
    el('tbody', {}, rows));
}

function flash(text, kind, attrs) {
  const f = document.getElementById('flash');
  f.replaceChildren(text);
  f.className = kind || 'info';
  for (const a of [...f.attributes]) if (a.name.startsWith('data-')) f.removeAttribute(a.name);
  for (const [k, v] of Object.entries(attrs || {})) f.setAttribute(k, v);
  f.hidden = false;
}

function clearFlash() { document.getElementById('flash').hidden = true; }

function bytes(n) {
  n = Number(n) || 0;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
}

function when(t) { return t ? new Date(t).toLocaleString() : ''; }

// ---- session and API calls ----

const session = {
  get access() { return sessionStorage.getItem('ff.access'); },
  get refresh() { return sessionStorage.getItem('ff.refresh'); },
  get user() { return sessionStorage.getItem('ff.user') || ''; },
  save(s) {
    sessionStorage.setItem('ff.access', s.access_token);
    sessionStorage.setItem('ff.refresh', s.refresh_token);
    if (s.user) sessionStorage.setItem('ff.user', s.user.username);
  },
  clear() { ['ff.access', 'ff.refresh', 'ff.user'].forEach(k => sessionStorage.removeItem(k)); },
};

class APIError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || ('HTTP ' + status));
    this.status = status;
    this.code = body && body.error && body.error.code;
  }
}

async function send(method, path, body, token) {
  const headers = {'Accept': 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers['Authorization'] = 'Bearer ' + token;
  const resp = await fetch(API + path, {method, headers,
    body: body === undefined ? undefined : JSON.stringify(body)});
  let env = null;
  try { env = await resp.json(); } catch (e) { /* not JSON */ }
  if (!resp.ok || !env || !env.success) throw new APIError(resp.status, env);
  return env;
}

let refreshing = null;

// refresh trades the refresh token for new tokens, once at a time; false when that fails.
function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      if (!session.refresh) return false;
      try {
        const env = await send('POST', '/auth/refresh', {refresh_token: session.refresh});
        session.save(env.data);
        return true;
      } catch (e) {
        return false;
      }
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

// call sends an authenticated request, refreshing the tokens once on 401; it returns the envelope.
async function call(method, path, body) {
  try {
    return await send(method, path, body, session.access);
  } catch (e) {
    if (e.status !== 401) throw e;
    if (!(await refresh())) { signedOut(); throw e; }
    return send(method, path, body, session.access);
  }
}

function signedOut() {
  session.clear();
  if (location.hash !== '#/login') location.hash = '#/login';
}

// stream opens an EventSource on path with the access token and calls onEvent with each
// parsed event. It reopens after errors (refreshing the tokens) until close() is called or
// onEvent returns true.
function stream(path, onEvent) {
  let es = null, closed = false, timer = null;
  const open = () => {
    if (closed) return;
    const sep = path.includes('?') ? '&' : '?';
    es = new EventSource(API + path + sep + 'token=' + encodeURIComponent(session.access || ''));
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, m => {
        let ev;
        try { ev = JSON.parse(m.data); } catch (e) { return; }
        ev.type = ev.type || type;
        if (onEvent(ev, m.lastEventId) === true) close();
      });
    }
    es.onerror = () => {
      if (closed || es.readyState !== EventSource.CLOSED) return; // the browser retries itself
      timer = setTimeout(async () => { await refresh(); open(); }, 2000);
    };
  };
  const close = () => { closed = true; clearTimeout(timer); if (es) es.close(); };
  open();
  return close;
}

// ---- progress bars ----

function jobPercent(job) {
  if (job.status === 'succeeded') return 100;
  const p = job.progress || {};
  if (!p.units_total) return 0;
  return Math.min(100, Math.floor(p.units_done * 100 / p.units_total));
}

function progressBar(percent, label) {
  const bar = el('div', {class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
    'aria-label': label || 'progress'}, el('div', {class: 'fill'}), el('span', {class: 'pct'}));
  setProgress(bar, percent);
  return bar;
}

function setProgress(bar, percent) {
  const p = Math.max(0, Math.min(100, Math.floor(Number(percent) || 0)));
  bar.setAttribute('aria-valuenow', String(p));
  bar.querySelector('.fill').style.width = p + '%';
  bar.querySelector('.pct').textContent = p + '%';
}

// ---- views ----

// Each view gets the container, the route's argument and a context: ctx.alive turns false when
// the user leaves the view, and ctx.closers run then.
const views = {login: viewLogin, jobs: viewJobs, job: viewJob, roots: viewRoots,
  duplicates: viewDuplicates, organize: viewOrganize, schedules: viewSchedules};

let cleanup = null;

function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  const [, name = '', arg] = location.hash.split('/');
  let view = views[name] ? name : 'jobs';
  if (name === 'jobs' && arg) view = 'job';
  if (!session.access) view = 'login';
  document.getElementById('nav').hidden = view === 'login';
  document.getElementById('whoami').textContent = session.user;
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === '#/' + (view === 'job' ? 'jobs' : view));
  }
  const main = document.getElementById('view');
  main.replaceChildren();
  const ctx = {alive: true, closers: []};
  cleanup = () => { ctx.alive = false; ctx.closers.forEach(f => f()); };
  views[view](main, arg ? decodeURIComponent(arg) : '', ctx);
}

function failed(main, e) {
  main.append(el('p', {class: 'error'}, 'Error: ' + e.message));
}

function viewLogin(main) {
  const err = el('p', {class: 'error', id: 'login-error'});
  const form = el('form', {id: 'login-form', class: 'card narrow'},
    el('h2', {}, 'Log in'),
    el('label', {}, 'User name', el('input', {id: 'username', name: 'username', autocomplete: 'username', required: true})),
    el('label', {}, 'Password', el('input', {id: 'password', name: 'password', type: 'password',
      autocomplete: 'current-password', required: true})),
    el('button', {type: 'submit', id: 'login-submit'}, 'Log in'), err);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    err.textContent = '';
    try {
      const env = await send('POST', '/auth/login', {username: form.username.value, password: form.password.value});
      session.save(env.data);
      clearFlash();
      location.hash = '#/jobs';
    } catch (e) {
      err.textContent = e.status === 401 ? 'Wrong user name or password.' : e.message;
    }
  });
  main.append(form);
  form.username.focus();
}

async function rootOptions(select) {
  const env = await call('GET', '/roots');
  const roots = (env.data && env.data.roots) || [];
  select.replaceChildren(...roots.map(r => el('option', {value: r.name}, r.name + ' (' + r.kind + ')')));
  return roots;
}

function viewJobs(main, _, ctx) {
  const rootSel = el('select', {id: 'scan-root', name: 'root', required: true});
  const prefix = el('input', {id: 'scan-prefix', name: 'prefix', placeholder: 'optional, e.g. photos/'});
  const form = el('form', {id: 'scan-form', class: 'card inline'}, el('h2', {}, 'Scan a root'),
    el('label', {}, 'Root', rootSel), el('label', {}, 'Prefix', prefix),
    el('button', {type: 'submit', id: 'scan-submit'}, 'Scan'));
  const body = el('tbody', {id: 'jobs-body'});
  const list = el('table', {id: 'jobs'}, el('thead', {}, el('tr', {},
    ['Job', 'Type', 'Root', 'Status', 'Progress', 'Files', 'Created'].map(h => el('th', {}, h)))), body);
  main.append(form, el('h2', {}, 'Jobs'), list);
  rootOptions(rootSel).catch(e => failed(form, e));

  const rows = new Map(); // job id → {tr, status, bar, files}
  const row = job => {
    const bar = progressBar(jobPercent(job), 'job ' + job.id);
    const status = el('td', {class: 'status s-' + job.status}, job.status);
    const files = el('td', {class: 'num'}, String((job.progress && job.progress.files) || 0));
    const tr = el('tr', {'data-job-id': job.id},
      el('td', {}, el('a', {href: '#/jobs/' + encodeURIComponent(job.id), title: job.id}, job.id.slice(0, 8))),
      el('td', {}, job.type), el('td', {}, job.root || ''), status, el('td', {}, bar), files,
      el('td', {}, when(job.created_at)));
    rows.set(job.id, {tr, status, bar, files});
    return tr;
  };
  let loading = false;
  const load = async () => {
    if (loading) return;
    loading = true;
    try {
      const env = await call('GET', '/jobs?limit=50&sort_by=created_at&sort_order=desc');
      if (!ctx.alive) return;
      rows.clear();
      body.replaceChildren(...env.data.jobs.map(row));
    } catch (e) {
      if (ctx.alive) flash('Could not list jobs: ' + e.message, 'error');
    } finally {
      loading = false;
    }
  };
  load();
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const req = {type: 'scan', root: rootSel.value};
    if (prefix.value.trim()) req.prefix = prefix.value.trim();
    try {
      const env = await call('POST', '/jobs', req);
      flash('Scan job ' + env.data.id + ' submitted.', 'info', {'data-job-id': env.data.id});
      await load();
    } catch (e) {
      flash('Could not submit the scan: ' + e.message, 'error');
    }
  });
  const stop = stream('/events', ev => {
    const r = rows.get(ev.job_id);
    if (!r) { load(); return; }
    const done = TERMINAL.includes(ev.status);
    setProgress(r.bar, ev.status === 'succeeded' ? 100 : ev.percent);
    r.status.textContent = ev.status;
    r.status.className = 'status s-' + ev.status;
    if (ev.progress) r.files.textContent = String(ev.progress.files || 0);
    if (done) load();
  });
  const poll = setInterval(load, 10000); // in case an event was missed
  ctx.closers.push(stop, () => clearInterval(poll));
}

async function viewJob(main, id, ctx) {
  const summary = el('pre', {id: 'job-json', class: 'card'});
  const bar = progressBar(0, 'job ' + id);
  const body = el('tbody', {id: 'events-body'});
  main.append(el('p', {}, el('a', {href: '#/jobs'}, '← Jobs')), el('h2', {}, 'Job ' + id), bar, summary,
    el('h2', {}, 'Events'), el('table', {id: 'events'}, el('thead', {}, el('tr', {},
      ['#', 'Time', 'Type', 'Status', 'Stage', '%', 'Files', 'Message'].map(h => el('th', {}, h)))), body));
  const show = job => { summary.textContent = JSON.stringify(job, null, 2); setProgress(bar, jobPercent(job)); };
  try {
    show((await call('GET', '/jobs/' + encodeURIComponent(id))).data);
  } catch (e) {
    failed(main, e);
    return;
  }
  if (!ctx.alive) return;
  const stop = stream('/jobs/' + encodeURIComponent(id) + '/events', (ev, evID) => {
    body.append(el('tr', {}, el('td', {}, evID || ev.id), el('td', {}, when(ev.time)), el('td', {}, ev.type),
      el('td', {}, ev.status), el('td', {}, ev.stage || ''), el('td', {class: 'num'}, Math.floor(ev.percent || 0)),
      el('td', {class: 'num'}, (ev.progress && ev.progress.files) || 0), el('td', {}, ev.message || '')));
    setProgress(bar, ev.status === 'succeeded' ? 100 : ev.percent);
    if (TERMINAL.includes(ev.status)) {
      call('GET', '/jobs/' + encodeURIComponent(id)).then(env => ctx.alive && show(env.data), () => {});
      return true; // the server ends the stream after the last event
    }
  });
  ctx.closers.push(stop);
}

async function viewRoots(main, _, ctx) {
  main.append(el('h2', {}, 'Roots'));
  let roots;
  try {
    roots = ((await call('GET', '/roots')).data.roots) || [];
  } catch (e) {
    failed(main, e);
    return;
  }
  if (!ctx.alive) return;
  const rows = roots.map(r => {
    const reach = el('td', {}, '…'), lat = el('td', {class: 'num'}), free = el('td', {class: 'num'});
    call('GET', '/roots/' + encodeURIComponent(r.name) + '/status').then(env => {
      const s = env.data;
      reach.textContent = s.reachable ? 'reachable' : 'unreachable' + (s.error ? ': ' + s.error.message : '');
      reach.className = s.reachable ? 'ok' : 'error';
      lat.textContent = s.latency_ms !== undefined ? s.latency_ms.toFixed(1) + ' ms' : '';
      free.textContent = s.total_bytes ? bytes(s.free_bytes) + ' of ' + bytes(s.total_bytes) : '';
    }, e => { reach.textContent = e.message; reach.className = 'error'; });
    const where = r.kind === 's3' ? r.endpoint + '/' + r.bucket + '/' + (r.prefix || '')
      : r.kind === 'smb' ? '//' + r.host + ':' + r.port + '/' + r.share + '/' + (r.path || '') : r.path;
    return el('tr', {'data-root': r.name}, el('td', {}, r.name), el('td', {}, r.kind), el('td', {}, where),
      reach, lat, free);
  });
  main.append(table(['Name', 'Kind', 'Where', 'Status', 'Latency', 'Free'], rows));
  if (!rows.length) main.append(el('p', {}, 'No roots yet: POST /api/v1/roots adds one.'));
}

async function viewDuplicates(main, _, ctx) {
  main.append(el('h2', {}, 'Largest duplicate groups (wasted bytes)'));
  let groups;
  try {
    groups = (await call('GET', '/stats/duplicates/groups?sort_by=size&limit=20')).data || [];
  } catch (e) {
    failed(main, e);
    return;
  }
  if (!ctx.alive) return;
  if (!groups.length) {
    main.append(el('p', {}, 'No duplicates in the catalog (hash or dedupe a root first).'));
    return;
  }
  const rowH = 26, labelW = 320, barW = 480, valueW = 110, width = labelW + barW + valueW;
  const max = Math.max(...groups.map(g => g.wasted_bytes), 1);
  const chart = svg('svg', {id: 'dup-chart', width, height: groups.length * rowH + 10,
    viewBox: `0 0 ${width} ${groups.length * rowH + 10}`, role: 'img', 'aria-label': 'wasted bytes per duplicate group'});
  groups.forEach((g, i) => {
    const y = 5 + i * rowH;
    const first = g.files && g.files[0];
    const label = (first ? first.root + ':' + first.path : g.hash.slice(0, 16)) + ' ×' + g.file_count;
    const short = label.length > 44 ? '…' + label.slice(-43) : label;
    const w = Math.max(1, Math.round(g.wasted_bytes / max * barW));
    const grp = svg('g', {});
    grp.append(svg('title', {}, label + ': ' + bytes(g.wasted_bytes) + ' wasted'),
      svg('text', {x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'label'}, short),
      svg('rect', {x: labelW, y: y + 3, width: w, height: rowH - 8, class: 'barrect'}),
      svg('text', {x: labelW + w + 6, y: y + rowH / 2 + 4, class: 'value'}, bytes(g.wasted_bytes)));
    chart.append(grp);
  });
  main.append(el('div', {class: 'card chart'}, chart));
}

function viewOrganize(main) {
  const rootSel = el('select', {id: 'org-root', name: 'root', required: true});
  const path = el('input', {id: 'org-path', name: 'path', placeholder: 'directory in the root, e.g. uploads'});
  const method = el('select', {id: 'org-methodology', name: 'methodology'},
    ['by_type', 'by_date', 'by_extension', 'para'].map(m => el('option', {value: m}, m)));
  const form = el('form', {id: 'organize-form', class: 'card inline'}, el('h2', {}, 'Organize a directory'),
    el('label', {}, 'Root', rootSel), el('label', {}, 'Path', path), el('label', {}, 'Methodology', method),
    el('button', {type: 'submit', id: 'org-preview'}, 'Preview'));
  const out = el('div', {id: 'organize-plan'});
  main.append(form, out);
  rootOptions(rootSel).catch(e => failed(form, e));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    out.replaceChildren(el('p', {}, 'Planning…'));
    let plan;
    try {
      plan = (await call('POST', '/organize/preview', {root: rootSel.value, path: path.value.trim(),
        methodology: method.value})).data;
    } catch (e) {
      out.replaceChildren(el('p', {class: 'error'}, 'Error: ' + e.message));
      return;
    }
    const s = plan.summary || {};
    const moves = plan.moves || [];
    const exec = el('button', {type: 'button', id: 'org-execute', disabled: !moves.length}, 'Approve and execute');
    exec.addEventListener('click', async () => {
      exec.disabled = true;
      try {
        const env = await call('POST', '/organize/execute', {plan_id: plan.plan_id});
        flash('Organize job ' + env.data.job.id + ' started.', 'info', {'data-job-id': env.data.job.id});
        location.hash = '#/jobs';
      } catch (e) {
        exec.disabled = false;
        flash('Could not execute the plan: ' + e.message, 'error');
      }
    });
    out.replaceChildren(
      el('p', {}, `Plan ${plan.plan_id}: ${s.files || 0} files, ${s.moves || 0} moves, ${s.in_place || 0} in place, ${s.renamed || 0} renamed.`),
      exec,
      table(['From', 'To'], moves.slice(0, 500).map(m => el('tr', {}, el('td', {}, m.src), el('td', {}, m.dst)))),
      moves.length > 500 ? el('p', {}, `…and ${moves.length - 500} more.`) : '');
  });
}

async function viewSchedules(main, _, ctx) {
  main.append(el('h2', {}, 'Schedules'));
  let list;
  try {
    list = (await call('GET', '/schedules')).data || [];
  } catch (e) {
    failed(main, e);
    return;
  }
  if (!ctx.alive) return;
  main.append(table(['Name', 'Cron', 'Time zone', 'Job', 'Enabled', 'Last run', 'Next run'], list.map(s =>
    el('tr', {}, el('td', {}, s.name), el('td', {}, s.cron), el('td', {}, s.timezone),
      el('td', {}, s.job.type + (s.job.root ? ' ' + s.job.root : '')), el('td', {}, s.enabled ? 'yes' : 'no'),
      el('td', {}, s.last_job_id ? el('a', {href: '#/jobs/' + encodeURIComponent(s.last_job_id)}, when(s.last_run_at))
        : when(s.last_run_at)),
      el('td', {}, when(s.next_run_at))))));
  if (!list.length) main.append(el('p', {}, 'No schedules yet: POST /api/v1/schedules adds one.'));
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('logout').addEventListener('click', async () => {
    try { await send('POST', '/auth/logout', undefined, session.access); } catch (e) { /* gone anyway */ }
    session.clear();
    clearFlash();
    location.hash = '#/login';
  });
  window.addEventListener('hashchange', route);
  route();
});
