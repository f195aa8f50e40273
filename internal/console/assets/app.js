// srs-lite web console: plain ES module, no dependencies. Every request
// goes to this box: the HTTP API (/api/v1/...) and /console/env.json.

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;         // dashboard and streams refresh
const SNAPSHOT_MS = 5000;     // preview image refresh
const HISTORY_S = 300;        // bandwidth chart: the last 5 minutes

const state = {
  page: '',
  env: null,
  version: null,
  bw: [],                     // {t, inBps, outBps}
  last: null,                 // previous byte counters
  snapshots: true,            // false once the box says it has no ffmpeg
  cards: new Map(),           // stream id -> card element
};

// ---- formatting ----
const fmtBits = (bps) => {
  if (!isFinite(bps) || bps < 0) return '–';
  const u = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
  let i = 0;
  while (bps >= 1000 && i < u.length - 1) { bps /= 1000; i++; }
  return `${bps.toFixed(bps < 10 && i > 0 ? 1 : 0)} ${u[i]}`;
};
const fmtBytes = (b) => {
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return `${b.toFixed(b < 10 && i > 0 ? 1 : 0)} ${u[i]}`;
};
const fmtDur = (s) => {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
};
const pct = (r) => `${(r * 100).toFixed(1)} %`;
const text = (id, v) => { const e = $(id); if (e.textContent !== String(v)) e.textContent = v; };

// ---- the API ----
function setStatus(msg, bad) {
  const s = $('status');
  s.textContent = msg;
  s.classList.toggle('bad', !!bad);
}

async function api(path, opts = {}) {
  const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store', ...opts });
  let body = null;
  if ((r.headers.get('Content-Type') || '').includes('json')) body = await r.json();
  if (!r.ok) {
    const err = new Error((body && body.msg) || `${r.status} ${r.statusText}`);
    err.status = r.status;
    err.body = body;
    throw err;
  }
  return body;
}

// apiText GETs a text answer (the TOML config); null on 404.
async function apiText(path) {
  const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (r.status === 404) return null;
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try { msg = (await r.json()).msg || msg; } catch { /* not JSON */ }
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return r.text();
}

// ---- dashboard ----
async function pollSummary() {
  const [sum, streams] = await Promise.all([api('/api/v1/summaries'), api('/api/v1/streams')]);
  const d = sum.data, self = d.self, sys = d.system, board = d.board || {};
  if (!state.version) state.version = (await api('/api/v1/versions')).data.version;
  // bandwidth from the byte counters' deltas
  const now = d.now_ms / 1000;
  const cur = { t: now, rx: sys.srs_recv_bytes, tx: sys.srs_send_bytes };
  if (state.last && now > state.last.t) {
    const dt = now - state.last.t;
    state.bw.push({ t: now, inBps: Math.max(0, cur.rx - state.last.rx) * 8 / dt,
      outBps: Math.max(0, cur.tx - state.last.tx) * 8 / dt });
    while (state.bw.length && state.bw[0].t < now - HISTORY_S) state.bw.shift();
  }
  state.last = cur;
  if (state.page !== 'dashboard') return;

  text('d-version', state.version);
  if (state.env) text('d-build', `${state.env.profile} build · ${state.env.features.length} features`);
  text('d-board', board.name || '–');
  text('d-board-desc', board.description || '');
  text('d-uptime', fmtDur(self.srs_uptime));
  text('d-load', `load ${sys.load_1m} · ${sys.cpus} CPUs`);
  text('d-cpu', pct(self.cpu_percent));
  text('d-cpu-sys', `system ${pct(sys.cpu_percent)}`);
  const used = self.mem_kbyte * 1024, limit = board.memory_limit || 0;
  text('d-mem', fmtBytes(used));
  if (limit > 0) {
    const r = used / limit;
    const bar = $('d-mem-bar');
    bar.style.width = `${Math.min(100, r * 100).toFixed(1)}%`;
    bar.classList.toggle('high', r > 0.8);
    text('d-mem-limit', `of ${fmtBytes(limit)} board limit (${pct(r)})`);
  } else {
    text('d-mem-limit', 'no board limit');
  }
  text('d-conns', sys.conn_srs);
  text('d-conns-max', board.max_connections ? `of ${board.max_connections} allowed` : '');
  const list = streams.streams || [];
  text('d-streams', list.length);
  text('d-clients', `${list.reduce((n, s) => n + (s.clients || 0), 0)} clients`);
  drawChart();
}

function drawChart() {
  const pts = state.bw;
  const last = pts[pts.length - 1];
  text('d-bw-in', last ? fmtBits(last.inBps) : '…');
  text('d-bw-out', last ? fmtBits(last.outBps) : '…');
  if (!last) return;
  const max = Math.max(1, ...pts.map((p) => Math.max(p.inBps, p.outBps))) * 1.1;
  const t0 = last.t - HISTORY_S;
  const line = (key) => pts.map((p) =>
    `${((p.t - t0) / HISTORY_S * 300).toFixed(1)},${(100 - p[key] / max * 100).toFixed(1)}`).join(' ');
  $('d-line-in').setAttribute('points', line('inBps'));
  $('d-line-out').setAttribute('points', line('outBps'));
  text('d-chart-max', `scale: ${fmtBits(max)}`);
}

// ---- streams ----
function hostFor(port) {
  const h = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  return `${h}:${port}`;
}

function urlsOf(st) {
  const e = state.env || {};
  const path = `${st.app}/${st.name}`;
  const vq = st.vhost && st.vhost !== '__defaultVhost__' ? `?vhost=${encodeURIComponent(st.vhost)}` : '';
  const out = [];
  if (e.rtmp) out.push(['RTMP', `rtmp://${hostFor(e.rtmp)}/${path}${vq}`]);
  if (e.http_server) out.push(['HTTP-FLV', `http://${hostFor(e.http_server)}/${path}.flv`]);
  if (e.http_server && st.hls) out.push(['HLS', `http://${hostFor(e.http_server)}/${path}.m3u8`]);
  if (e.srt) out.push(['SRT', `srt://${hostFor(e.srt)}?streamid=#!::r=${path},m=request`]);
  if (e.rtmps) out.push(['RTMPS', `rtmps://${hostFor(e.rtmps)}/${path}${vq}`]);
  if (e.https_server) out.push(['HTTPS-FLV', `https://${hostFor(e.https_server)}/${path}.flv`]);
  return out;
}

async function copy(s, btn) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(s);
    } else { // plain http to a box on the LAN is not a secure context
      const ta = document.createElement('textarea');
      ta.value = s;
      ta.setAttribute('readonly', '');
      ta.style.position = 'fixed';
      ta.style.opacity = '0';
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    btn.textContent = 'copied';
  } catch {
    btn.textContent = 'select it';
  }
  setTimeout(() => { btn.textContent = 'copy'; }, 1500);
}

async function kick(id, what) {
  if (!confirm(`Disconnect ${what}?`)) return;
  try {
    await api(`/api/v1/clients/${encodeURIComponent(id)}`, { method: 'DELETE' });
    setStatus(`kicked ${what}`);
    pollStreams();
  } catch (err) {
    setStatus(`kick failed: ${err.message}`, true);
  }
}

function li(children) {
  const e = document.createElement('li');
  e.append(...children);
  return e;
}
function span(cls, t) {
  const e = document.createElement('span');
  e.className = cls;
  e.textContent = t;
  return e;
}
function button(label, cls, fn) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener('click', () => fn(b));
  return b;
}

function codecsOf(st) {
  const v = st.video, a = st.audio, parts = [];
  if (v) parts.push(`${v.codec}${v.profile ? ' ' + v.profile : ''} ${v.width}×${v.height}`);
  if (a) parts.push(`${a.codec} ${a.sample_rate / 1000} kHz${a.channel === 2 ? ' stereo' : a.channel === 1 ? ' mono' : ''}`);
  return parts.join(' · ') || 'no media yet';
}

function card(st) {
  let c = state.cards.get(st.id);
  if (!c) {
    c = $('t-stream').content.firstElementChild.cloneNode(true);
    c.dataset.id = st.id;
    c.snapAt = 0;
    state.cards.set(st.id, c);
  }
  return c;
}

function renderStream(st, clients) {
  const c = card(st);
  const set = (sel, v) => { const e = c.querySelector(sel); if (e.textContent !== v) e.textContent = v; };
  set('.name', `${st.app}/${st.name}${st.vhost !== '__defaultVhost__' ? ' @ ' + st.vhost : ''}`);
  set('.codecs', codecsOf(st));
  // bitrates from the byte counters between two polls (the API's kbps
  // needs 30 s of samples)
  const prev = c.bytes, now = { t: Date.now(), rx: st.recv_bytes, tx: st.send_bytes };
  if (prev && now.t > prev.t + 500) {
    const dt = (now.t - prev.t) / 1000;
    c.rate = { rx: Math.max(0, now.rx - prev.rx) * 8 / dt, tx: Math.max(0, now.tx - prev.tx) * 8 / dt };
  }
  if (!prev || now.t > prev.t + 500) c.bytes = now;
  const r = c.rate;
  set('.stats', `${r ? `in ${fmtBits(r.rx)} · out ${fmtBits(r.tx)}` : 'measuring bitrate…'} · ${st.frames} frames`);
  const pub = st.publish && st.publish.active ? clients.find((x) => x.id === st.publish.cid) : null;
  const pubLine = c.querySelector('.publisher');
  pubLine.replaceChildren(span('', pub ? `publisher ${pub.type} from ${pub.ip}, ${fmtDur(pub.alive)} ` :
    (st.publish && st.publish.active ? 'publishing ' : 'no publisher ')));
  if (pub) pubLine.append(button('kick', 'kick', () => kick(pub.id, `the publisher of ${st.app}/${st.name}`)));

  const urls = c.querySelector('.urls ul');
  const want = urlsOf(st);
  if (urls.dataset.sig !== JSON.stringify(want)) {
    urls.dataset.sig = JSON.stringify(want);
    urls.replaceChildren(...want.map(([proto, u]) =>
      li([span('proto', proto), span('url', u), button('copy', '', (b) => copy(u, b))])));
  }

  const viewers = clients.filter((x) => x.stream === st.id && !x.publish);
  const byType = {};
  for (const v of viewers) byType[v.type] = (byType[v.type] || 0) + 1;
  const summary = Object.entries(byType).map(([t, n]) => `${n} ${t}`).join(', ');
  set('.viewers summary', `${viewers.length} viewer${viewers.length === 1 ? '' : 's'}${summary ? ': ' + summary : ''}`);
  const vsig = viewers.map((v) => v.id).join(',');
  const vl = c.querySelector('.viewers ul');
  if (vl.dataset.sig !== vsig) {
    vl.dataset.sig = vsig;
    vl.replaceChildren(...viewers.map((v) => li([span('proto', v.type), span('url', `${v.ip} · ${v.id}`),
      button('kick', 'kick', () => kick(v.id, `viewer ${v.id} (${v.ip})`))])));
  }
  if (st.video) refreshSnapshot(c, st);
  return c;
}

async function refreshSnapshot(c, st) {
  const img = c.querySelector('.preview img'), none = c.querySelector('.nopreview');
  if (!state.snapshots || c.snapBusy || Date.now() - c.snapAt < SNAPSHOT_MS) return;
  c.snapBusy = true;
  c.snapAt = Date.now();
  const q = new URLSearchParams({ app: st.app, stream: st.name });
  if (st.vhost && st.vhost !== '__defaultVhost__') q.set('vhost', st.vhost);
  try {
    const r = await fetch(`/api/v1/snapshot?${q}`, { credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 503) { // no ffmpeg on this box: stop asking
      state.snapshots = false;
      none.textContent = 'no preview (no ffmpeg on the box)';
      return;
    }
    if (!r.ok) throw new Error(String(r.status));
    const url = URL.createObjectURL(await r.blob());
    img.onload = () => { if (img.prev) URL.revokeObjectURL(img.prev); img.prev = url; };
    img.src = url;
    img.hidden = false;
    none.hidden = true;
  } catch {
    img.hidden = true;
    none.hidden = false;
  } finally {
    c.snapBusy = false;
  }
}

async function pollStreams() {
  const [s, cl] = await Promise.all([api('/api/v1/streams'), api('/api/v1/clients?count=1000')]);
  if (state.page !== 'streams') return;
  const list = (s.streams || []).slice().sort((a, b) => `${a.app}/${a.name}`.localeCompare(`${b.app}/${b.name}`));
  const clients = cl.clients || [];
  const seen = new Set(list.map((x) => x.id));
  for (const id of state.cards.keys()) if (!seen.has(id)) state.cards.delete(id);
  $('s-list').replaceChildren(...list.map((st) => renderStream(st, clients)));
  $('s-empty').hidden = list.length > 0;
  if (state.env && state.env.rtmp) text('s-example', `ffmpeg -re -i FILE -c copy -f flv rtmp://${hostFor(state.env.rtmp)}/live/livestream`);
}

// ---- logs ----
const LOG_KEEP = 1000;          // lines kept on the page
const logs = { since: 0, filter: '', count: 0 };

function logFilter() {
  const q = new URLSearchParams();
  if ($('l-level').value) q.set('level', $('l-level').value);
  const cid = $('l-cid').value.trim();
  if (cid) q.set('cid', cid);
  return q;
}

function resetLogs() {
  logs.since = 0;
  logs.count = 0;
  $('l-lines').replaceChildren();
  if (state.page === 'logs') tick();
}

function logLine(l) {
  const e = document.createElement('div');
  e.className = `lvl-${(l.level || 'INFO').replace(/[+-].*/, '')}`;
  e.dataset.seq = l.seq;
  if (l.cid) e.dataset.cid = l.cid;
  // the cid is a link that filters on it
  const i = l.cid ? l.text.indexOf(`cid=${l.cid}`) : -1;
  if (i < 0) {
    e.textContent = l.text;
  } else {
    const c = span('cid', l.cid);
    c.title = 'show this connection only';
    c.addEventListener('click', () => { $('l-cid').value = l.cid; resetLogs(); });
    e.append(l.text.slice(0, i + 4), c, l.text.slice(i + 4 + l.cid.length));
  }
  return e;
}

async function pollLogs() {
  if (state.page !== 'logs' || $('l-pause').checked) return;
  const q = logFilter();
  const sig = q.toString();
  if (sig !== logs.filter) { logs.filter = sig; logs.since = 0; logs.count = 0; $('l-lines').replaceChildren(); }
  q.set('since', logs.since);
  q.set('count', LOG_KEEP);
  const r = await api(`/api/v1/logs?${q}`);
  if (sig !== logs.filter) return; // the filter changed meanwhile
  const box = $('l-lines');
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
  const lines = r.data.lines || [];
  if (lines.length) {
    box.append(...lines.map(logLine));
    while (box.childElementCount > LOG_KEEP) box.firstElementChild.remove();
    if (atBottom || logs.since === 0) box.scrollTop = box.scrollHeight;
  }
  logs.since = r.data.next;
  logs.count = box.childElementCount;
  $('l-empty').hidden = logs.count > 0;
  text('l-count', `${logs.count} line${logs.count === 1 ? '' : 's'}`);
}

// ---- config ----
const cfg = { loaded: false, errLines: new Set() };

function configMsg(msg, kind) {
  const m = $('c-msg');
  m.textContent = msg;
  m.className = `msg ${kind || ''}`;
}

function gutter() {
  const n = $('c-editor').value.split('\n').length;
  const g = $('c-gutter');
  if (g.childElementCount !== n || g.dataset.errs !== [...cfg.errLines].join(',')) {
    const out = [];
    for (let i = 1; i <= n; i++) {
      const e = document.createElement('span');
      e.textContent = i;
      if (cfg.errLines.has(i)) e.className = 'err';
      out.push(e);
    }
    g.replaceChildren(...out);
    g.dataset.errs = [...cfg.errLines].join(',');
  }
  g.scrollTop = $('c-editor').scrollTop;
}

// gotoLine puts the cursor at the start of line n and scrolls it into view.
function gotoLine(n) {
  const ta = $('c-editor');
  const lines = ta.value.split('\n');
  let start = 0;
  for (let i = 0; i < n - 1 && i < lines.length; i++) start += lines[i].length + 1;
  const end = start + (lines[n - 1] || '').length;
  ta.focus();
  ta.setSelectionRange(start, end);
  const lh = parseFloat(getComputedStyle(ta).lineHeight) || 18;
  ta.scrollTop = Math.max(0, (n - 1) * lh - ta.clientHeight / 3);
  gutter();
}

function showProblems(err) {
  const ps = (err.body && err.body.problems) || [];
  cfg.errLines = new Set(ps.filter((p) => p.line).map((p) => p.line));
  const list = ps.length ? ps : [{ msg: err.message }];
  $('c-problems').replaceChildren(...list.map((p) => {
    const e = document.createElement('li');
    e.textContent = `${p.line ? `line ${p.line}: ` : ''}${p.key ? p.key + ': ' : ''}${p.msg}`;
    if (p.line) { e.dataset.line = p.line; e.addEventListener('click', () => gotoLine(p.line)); }
    return e;
  }));
  gutter();
  const first = ps.find((p) => p.line);
  if (first) gotoLine(first.line);
}

function clearProblems() {
  cfg.errLines = new Set();
  $('c-problems').replaceChildren();
  gutter();
}

function refused(err) {
  return err.status === 401 ?
    `refused by the box: ${err.message}` : err.message;
}

async function loadConfig() {
  try {
    const [toml, meta] = await Promise.all([apiText('/api/v1/config?format=toml'), api('/api/v1/config')]);
    $('c-editor').value = toml || '';
    text('c-file', meta.data.file ? `file: ${meta.data.file}` : 'no config file: the server runs on its embedded defaults');
    cfg.loaded = true;
    clearProblems();
  } catch (err) {
    configMsg(`cannot read the config: ${refused(err)}`, 'bad');
  }
  try {
    $('c-restore').disabled = (await apiText('/api/v1/config/last-good')) === null;
  } catch {
    $('c-restore').disabled = true;
  }
}

async function configAction(what, fn) {
  for (const b of document.querySelectorAll('#config .toolbar button')) b.disabled = true;
  configMsg(`${what}…`);
  try {
    await fn();
  } catch (err) {
    configMsg(`${what}: ${refused(err)}`, 'bad');
    if (err.status === 400) showProblems(err);
  } finally {
    for (const b of document.querySelectorAll('#config .toolbar button')) b.disabled = false;
    try { $('c-restore').disabled = (await apiText('/api/v1/config/last-good')) === null; } catch { $('c-restore').disabled = true; }
  }
}

const tomlBody = () => ({ headers: { 'Content-Type': 'application/toml' }, body: $('c-editor').value });

function checkConfig() {
  return configAction('check', async () => {
    await api('/api/v1/config/check', { method: 'POST', ...tomlBody() });
    clearProblems();
    configMsg('the config is valid (nothing applied yet)', 'ok');
  });
}

function applyConfig() {
  return configAction('apply', async () => {
    const r = await api('/api/v1/config', { method: 'PUT', ...tomlBody() });
    clearProblems();
    await loadConfig();
    configMsg(`applied (sha256 ${r.data.sha256.slice(0, 12)}…, ${r.data.bytes} bytes)`, 'ok');
  });
}

function restoreConfig() {
  if (!confirm('Apply the last good config again, replacing the config in force?')) return;
  return configAction('restore', async () => {
    await api('/api/v1/config/last-good', { method: 'POST' });
    await loadConfig();
    configMsg('the last good config is applied', 'ok');
  });
}

async function pollConfig() {
  if (!cfg.loaded) await loadConfig();
}

function setupPages() {
  $('l-filter').addEventListener('submit', (e) => { e.preventDefault(); resetLogs(); });
  $('l-level').addEventListener('change', resetLogs);
  $('l-cid').addEventListener('change', resetLogs);
  $('l-clear').addEventListener('click', () => { $('l-lines').replaceChildren(); logs.count = 0; text('l-count', ''); });
  $('c-check').addEventListener('click', checkConfig);
  $('c-apply').addEventListener('click', applyConfig);
  $('c-revert').addEventListener('click', async () => { await loadConfig(); configMsg('reloaded from the box'); });
  $('c-restore').addEventListener('click', restoreConfig);
  const ed = $('c-editor');
  ed.addEventListener('input', gutter);
  ed.addEventListener('scroll', () => { $('c-gutter').scrollTop = ed.scrollTop; });
}

// ---- pages ----
const pages = { dashboard: pollSummary, streams: pollStreams, logs: pollLogs, config: pollConfig };
let timer = 0;

async function tick() {
  clearTimeout(timer);
  try {
    if (state.page !== 'dashboard') await pollSummary(); // keep the chart's history
    await pages[state.page]();
    setStatus(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    setStatus(err.status === 401 ? 'unauthorized: reload and sign in with the API credentials' : `error: ${err.message}`, true);
  }
  timer = setTimeout(tick, POLL_MS);
}

function route() {
  const p = location.hash.replace(/^#\/?/, '') || 'dashboard';
  state.page = pages[p] ? p : 'dashboard';
  for (const s of document.querySelectorAll('.page')) s.hidden = s.id !== state.page;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === state.page);
  document.title = `${state.page[0].toUpperCase()}${state.page.slice(1)} · srs-lite`;
  tick();
}

async function main() {
  try {
    state.env = await api('/console/env.json');
  } catch (err) {
    setStatus(`error: ${err.message}`, true);
  }
  setupPages();
  window.addEventListener('hashchange', route);
  route();
}

main();
