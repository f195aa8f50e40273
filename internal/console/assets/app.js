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

// ---- access: the page's own login form ----
// The credentials of [http_api.auth] are kept in sessionStorage (this tab
// only, no cookie) and sent as the Authorization header of every request.
// X-Requested-With tells the box not to answer 401 with a challenge, so
// that the browser does not open its own Basic prompt.
const AUTH_KEY = 'srs-lite-auth';

function loadAuth() {
  try {
    const a = JSON.parse(sessionStorage.getItem(AUTH_KEY) || 'null');
    state.auth = a && a.header ? a : null;
  } catch { state.auth = null; }
}

function authHeaders(extra) {
  const h = { 'X-Requested-With': 'srs-lite-console', ...(extra || {}) };
  if (state.auth) h.Authorization = state.auth.header;
  return h;
}

function showWho() {
  const a = state.auth;
  text('who-name', a ? `logged in as ${a.who}` : '');
  $('who-out').hidden = !a;
  $('who-in').hidden = !!a;
}

function showLogin(why) {
  const o = $('login');
  if (!o.hidden) return;
  text('login-why', why || 'The box asks for the credentials of [http_api.auth].');
  text('login-msg', '');
  o.hidden = false;
  (loginKind() === 'bearer' ? $('login-token') : $('login-user')).focus();
}

const loginKind = () => document.querySelector('input[name=login-kind]:checked').value;

function loginKindChanged() {
  const bearer = loginKind() === 'bearer';
  $('login-basic').hidden = bearer;
  $('login-bearer').hidden = !bearer;
}

async function login(e) {
  e.preventDefault();
  let a;
  if (loginKind() === 'bearer') {
    const tok = $('login-token').value.trim();
    if (!tok) { text('login-msg', 'enter the token'); return; }
    a = { header: `Bearer ${tok}`, who: 'token' };
  } else {
    const u = $('login-user').value, p = $('login-pass').value;
    if (!u) { text('login-msg', 'enter the username'); return; }
    const bytes = new TextEncoder().encode(`${u}:${p}`);
    a = { header: `Basic ${btoa(String.fromCharCode(...bytes))}`, who: u };
  }
  // The log needs the credentials (or loopback) even to be read: a fair test.
  const r = await fetch('/api/v1/logs?count=1', { cache: 'no-store', headers: { 'X-Requested-With': 'srs-lite-console', Authorization: a.header } });
  if (r.status === 401) {
    let msg = 'the box refused these credentials';
    try { msg = (await r.json()).msg || msg; } catch { /* not JSON */ }
    text('login-msg', msg);
    return;
  }
  state.auth = a;
  sessionStorage.setItem(AUTH_KEY, JSON.stringify(a));
  $('login-pass').value = '';
  $('login-token').value = '';
  $('login').hidden = true;
  showWho();
  if (!state.env) await loadEnv();
  cfg.loaded = false;
  tick();
}

function logout() {
  state.auth = null;
  sessionStorage.removeItem(AUTH_KEY);
  showWho();
  setStatus('logged out');
  tick();
}

async function api(path, opts = {}) {
  const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store', ...opts, headers: authHeaders(opts.headers) });
  let body = null;
  if ((r.headers.get('Content-Type') || '').includes('json')) body = await r.json();
  // The config's ETag goes back as If-Match, so a change made by someone
  // else in between is refused (412) rather than undone unseen.
  if (body && typeof body === 'object') Object.defineProperty(body, 'etag', { value: r.headers.get('ETag') || '' });
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
  const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: authHeaders() });
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
  if (hasWebRTC()) out.push(['WHEP', whepURL(st)]);
  return out;
}

// ---- live preview ----
// hooks.whep(video, url) returns a Promise of a stop function: WHEP through
// the browser's RTCPeerConnection when the build has WebRTC; else the
// preview is HTTP-FLV through mpegts.js (loaded only when a preview
// opens), else snapshots.
export const hooks = { whep: whepPlay };

// whepPlay: recvonly video and audio, the offer POSTed at once (the box is
// ICE-lite: no gathering, no trickle), the answer set; stop closes the
// connection and DELETEs the session (its Location).
async function whepPlay(video, url) {
  if (!window.RTCPeerConnection) throw new Error('no WebRTC in this browser');
  const pc = new RTCPeerConnection();
  let loc = '';
  const stop = () => { // DELETE first: the box ends the session at once
    const l = loc;
    loc = '';
    if (!l) { pc.close(); return; }
    fetch(l, { method: 'DELETE', headers: authHeaders() }).catch(() => {}).finally(() => pc.close());
  };
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const ms = new MediaStream();
    pc.ontrack = (e) => { ms.addTrack(e.track); video.srcObject = ms; };
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch(url, { method: 'POST', cache: 'no-store', headers: authHeaders({ 'Content-Type': 'application/sdp' }),
      body: pc.localDescription.sdp });
    const sdp = await r.text();
    if (r.status === 401) showLogin('The preview needs the credentials.');
    if (r.status !== 201) throw new Error(`WHEP ${r.status}: ${sdp.trim().slice(0, 100)}`);
    if (r.headers.get('Location')) loc = new URL(r.headers.get('Location'), r.url).href;
    await pc.setRemoteDescription({ type: 'answer', sdp });
  } catch (err) {
    stop();
    throw err;
  }
  return stop;
}

function hasWebRTC() {
  return !!(state.env && (state.env.features || []).some((f) => f === 'webrtc' || f === 'rtc'));
}

function whepURL(st) {
  const q = new URLSearchParams({ app: st.app, stream: st.name });
  if (st.vhost && st.vhost !== '__defaultVhost__') q.set('vhost', st.vhost);
  return `${location.protocol}//${location.host}/rtc/v1/whep/?${q}`;
}

// pickPreview: WHEP when the build has WebRTC and a WHEP player, HTTP-FLV
// when the browser has MSE and the box an HTTP server, else snapshots.
// ?preview=flv (or snapshot) in the console's URL skips WHEP.
function pickPreview() {
  const force = new URLSearchParams(location.search).get('preview');
  if (hasWebRTC() && typeof hooks.whep === 'function' && window.RTCPeerConnection && !force) return 'whep';
  return force !== 'snapshot' && flvPossible() ? 'flv' : 'snapshot';
}

function flvPossible() {
  const e = state.env || {};
  return !!((window.MediaSource || window.ManagedMediaSource) && (e.http_server || e.https_server));
}

let mpegtsLoading = null;
function loadMpegts() {
  if (window.mpegts) return Promise.resolve(window.mpegts);
  if (!mpegtsLoading) {
    mpegtsLoading = new Promise((resolve, reject) => {
      const sc = document.createElement('script');
      sc.src = '/console/vendor/mpegts.js';
      sc.onload = () => (window.mpegts ? resolve(window.mpegts) : reject(new Error('mpegts.js did not load')));
      sc.onerror = () => { mpegtsLoading = null; reject(new Error('mpegts.js did not load')); };
      document.head.append(sc);
    });
  }
  return mpegtsLoading;
}

function flvURL(st) {
  const e = state.env || {};
  const path = `${st.app}/${st.name}.flv`;
  if (location.protocol === 'https:' && e.https_server) return `https://${hostFor(e.https_server)}/${path}`;
  return `http://${hostFor(e.http_server)}/${path}`;
}

function stopPreview(c, why) {
  const l = c.live;
  if (!l) return;
  c.live = null;
  try { l.stop(); } catch { /* already gone */ }
  l.video.remove();
  c.querySelector('.play').textContent = '▶ live';
  c.snapAt = 0;
  const none = c.querySelector('.nopreview');
  if (why) { none.textContent = why; none.hidden = false; c.querySelector('.preview img').hidden = true; }
}

function stopAllPreviews(cards) {
  for (const c of cards.values()) stopPreview(c);
}

async function togglePreview(c, st) {
  if (c.live) { stopPreview(c); return; }
  let kind = pickPreview();
  if (kind === 'snapshot') {
    c.querySelector('.nopreview').textContent = 'no live preview in this browser (no MSE): snapshots';
    return;
  }
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.title = 'double-click: full screen';
  video.addEventListener('dblclick', () => { if (video.requestFullscreen) video.requestFullscreen().catch(() => {}); });
  const box = c.querySelector('.preview');
  const live = { video, stop: () => {}, kind };
  c.live = live;
  c.querySelector('.play').textContent = '■ stop';
  box.querySelector('img').hidden = true;
  box.querySelector('.nopreview').hidden = true;
  box.prepend(video);
  const fail = (msg) => { if (c.live === live) stopPreview(c, `live preview failed (${msg}): snapshots`); };
  try {
    if (kind === 'whep') {
      try {
        const stop = await hooks.whep(video, whepURL(st));
        live.stop = stop;
        if (c.live !== live) stop(); // stopped while connecting
      } catch (err) {
        // WHEP refused ([rtc] off on the box, ...): HTTP-FLV if it can.
        if (c.live !== live || !flvPossible()) throw err;
        kind = live.kind = 'flv';
        video.srcObject = null;
      }
    }
    if (kind === 'flv') {
      const mpegts = await loadMpegts();
      if (!mpegts.getFeatureList().mseLivePlayback) throw new Error('no MSE live playback');
      const p = mpegts.createPlayer({ type: 'flv', isLive: true, url: flvURL(st) },
        { enableWorker: false, lazyLoad: false, liveBufferLatencyChasing: true, autoCleanupSourceBuffer: true });
      live.player = p;
      live.stop = () => { p.pause(); p.unload(); p.detachMediaElement(); p.destroy(); };
      p.on(mpegts.Events.ERROR, (type, detail) => fail(`${type}: ${detail}`));
      p.attachMediaElement(video);
      p.load();
      const played = p.play();
      if (played && played.catch) played.catch(() => {});
    }
    // No picture within 10 s: back to snapshots.
    setTimeout(() => { if (c.live === live && !(video.currentTime > 0)) fail('no picture within 10 s'); }, 10000);
  } catch (err) {
    fail(err.message);
  }
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

// trackFor names who plays an audio track of a stream that has two (a WHIP
// publisher's Opus beside the audio bridge's AAC).
const trackFor = { main: ' (RTMP, FLV, TS, SRT)', opus: ' (WebRTC, fMP4 HLS)' };

function codecsOf(st) {
  const v = st.video, parts = [];
  if (v) parts.push(`${v.codec}${v.profile ? ' ' + v.profile : ''} ${v.width}×${v.height}`);
  for (const a of st.audio_tracks || (st.audio ? [st.audio] : [])) {
    parts.push(`${a.codec} ${a.sample_rate / 1000} kHz${a.channel === 2 ? ' stereo' : a.channel === 1 ? ' mono' : ''}${trackFor[a.track] || ''}`);
  }
  return parts.join(' · ') || 'no media yet';
}

function card(st) {
  let c = state.cards.get(st.id);
  if (!c) {
    c = $('t-stream').content.firstElementChild.cloneNode(true);
    c.dataset.id = st.id;
    c.snapAt = 0;
    c.querySelector('.play').addEventListener('click', () => togglePreview(c, c.st));
    state.cards.set(st.id, c);
  }
  return c;
}

function renderStream(st, clients) {
  const c = card(st);
  c.st = st;
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
  pubLine.replaceChildren(span('', pub ? `publisher ${pub.type}${pub.ip ? ' from ' + pub.ip : ''}, ${fmtDur(pub.alive)} ` :
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
  c.querySelector('.play').hidden = !st.video || pickPreview() === 'snapshot';
  if (st.video && !c.live) refreshSnapshot(c, st);
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
    const r = await fetch(`/api/v1/snapshot?${q}`, { credentials: 'same-origin', cache: 'no-store', headers: authHeaders() });
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
  for (const [id, c] of state.cards) if (!seen.has(id)) { stopPreview(c); state.cards.delete(id); }
  const cards = list.map((st) => renderStream(st, clients));
  const box = $('s-list');
  // Re-order only when the list changed: moving a playing video restarts it.
  if (cards.length !== box.childElementCount || cards.some((c, i) => box.children[i] !== c)) box.replaceChildren(...cards);
  $('s-empty').hidden = list.length > 0;
  if (state.env && state.env.rtmp) text('s-example', `ffmpeg -re -i FILE -c copy -f flv rtmp://${hostFor(state.env.rtmp)}/live/livestream`);
}

// ---- cameras ----
const cams = { cards: new Map(), serialAt: 0, serials: null, devAt: 0, editing: null };

function ingestCard(inj) {
  let c = cams.cards.get(inj.name);
  if (!c) {
    c = $('t-ingest').content.firstElementChild.cloneNode(true);
    c.dataset.name = inj.name;
    c.snapAt = 0;
    c.querySelector('.retry').addEventListener('click', () => retryIngest(c.inj.name));
    c.querySelector('.edit').addEventListener('click', () => editIngest(c.inj.name));
    c.querySelector('.remove').addEventListener('click', () => removeIngest(c.inj.name));
    cams.cards.set(inj.name, c);
  }
  c.inj = inj;
  const set = (sel, v) => { const e = c.querySelector(sel); if (e.textContent !== v) e.textContent = v; };
  set('.name', `${inj.name} → ${inj.output}`);
  const st = c.querySelector('.state');
  set('.state', inj.state);
  st.className = `state ${inj.state}`;
  set('.since', inj.since ? `for ${fmtDur((Date.now() - Date.parse(inj.since)) / 1000)}` : '');
  set('.src', `${inj.source ? inj.source + ' · ' : ''}${inj.on_demand ? 'on demand · ' : ''}${inj.input}`);
  set('.err', inj.error ? `last error: ${inj.error}` : '');
  // the bitrate from the byte counter between two polls (the API's kbps
  // needs 30 s of samples)
  const now = { t: Date.now(), b: inj.bytes };
  if (c.bytes && now.t > c.bytes.t + 500) c.rate = Math.max(0, now.b - c.bytes.b) * 8 / ((now.t - c.bytes.t) / 1000);
  if (!c.bytes || now.t > c.bytes.t + 500) c.bytes = now;
  const rate = c.rate != null ? c.rate : inj.kbps * 1000;
  set('.stats', `${inj.restarts} restart${inj.restarts === 1 ? '' : 's'} · ${inj.frames} frames · ${fmtBits(rate)}${inj.transport ? ' · ' + inj.transport : ''}`);
  // The snapshot of the stream it publishes (not of a push to another server).
  if (!inj.output.includes('://') && inj.state === 'running') {
    const [app, ...rest] = inj.output.split('/');
    refreshSnapshot(c, { app, name: rest.join('/') });
  }
  return c;
}

async function retryIngest(name) {
  try {
    await api(`/api/v1/ingests/${encodeURIComponent(name)}/retry`, { method: 'POST' });
    setStatus(`${name} restarted`);
    pollCameras();
  } catch (err) {
    failed(`retry ${name}`, err);
  }
}

async function removeIngest(name) {
  if (!confirm(`Remove the camera ${name} from the config (it stops now)?`)) return;
  try {
    await api(`/api/v1/ingests/${encodeURIComponent(name)}`, { method: 'DELETE' });
    setStatus(`${name} removed`);
    pollCameras();
  } catch (err) {
    failed(`remove ${name}`, err);
  }
}

// failed shows an action's error, or the login form on 401.
function failed(what, err) {
  if (err.status === 401) showLogin(`${what}: ${err.message}`);
  setStatus(`${what}: ${err.message}`, true);
}

const formFields = { name: 'f-name', input: 'f-input', output: 'f-output', transport: 'f-transport', encoder: 'f-encoder',
  acodec: 'f-acodec', idle_timeout: 'f-idle' };

function clearFieldErrors() {
  for (const l of document.querySelectorAll('#i-form label')) {
    l.classList.remove('bad');
    const e = l.querySelector('small.err');
    if (e) e.textContent = '';
  }
  text('i-msg', '');
}

function fieldError(field, msg) {
  const l = document.querySelector(`#i-form label[data-field="${field}"]`);
  if (!l) return false;
  l.classList.add('bad');
  const e = l.querySelector('small.err');
  if (e) e.textContent = msg; else return false;
  return true;
}

function openForm(entry, title) {
  cams.editing = entry && entry.name && title !== 'add' ? entry.name : null;
  cams.etag = '';
  clearFieldErrors();
  text('i-form-title', cams.editing ? `Edit ${cams.editing}` : 'Add a camera');
  const v = entry || {};
  for (const [k, id] of Object.entries(formFields)) $(id).value = v[k] || '';
  if ($('f-transport').value === 'auto') $('f-transport').value = '';
  if ($('f-acodec').value === 'copy') $('f-acodec').value = '';
  if ($('f-encoder').value === 'auto') $('f-encoder').value = '';
  $('f-ondemand').checked = !!v.on_demand;
  $('f-enabled').checked = v.enabled !== false;
  const f = $('i-form');
  f.hidden = false;
  f.scrollIntoView({ block: 'nearest' });
  $('f-name').focus();
}

async function editIngest(name) {
  try {
    const c = await api('/api/v1/config');
    const entry = (c.data.config.ingest || []).find((x) => x.name === name);
    if (!entry) throw new Error(`no ingest ${name} in the config`);
    openForm(entry, 'edit');
    cams.etag = c.etag;
  } catch (err) {
    failed(`edit ${name}`, err);
  }
}

async function saveIngest(e) {
  e.preventDefault();
  clearFieldErrors();
  const body = { enabled: $('f-enabled').checked, on_demand: $('f-ondemand').checked };
  for (const [k, id] of Object.entries(formFields)) {
    const v = $(id).value.trim();
    if (v) body[k] = v;
  }
  let bad = false;
  if (!body.name) bad = fieldError('name', 'a name is needed');
  if (!body.input) bad = fieldError('input', 'an input is needed') || bad;
  if (bad) return;
  const editing = cams.editing;
  const url = `/api/v1/ingests/${encodeURIComponent(editing || body.name)}`;
  $('i-save').disabled = true;
  text('i-msg', 'applying…');
  try {
    const headers = { 'Content-Type': 'application/json' };
    if (editing && cams.etag) headers['If-Match'] = cams.etag;
    await api(url, { method: editing ? 'PUT' : 'POST', headers, body: JSON.stringify(body) });
    $('i-form').hidden = true;
    setStatus(`${body.name} ${editing ? 'changed' : 'added'} and applied`);
    pollCameras();
  } catch (err) {
    const ps = (err.body && err.body.problems) || [];
    let shown = false;
    for (const p of ps) shown = fieldError((p.key || '').split('.').pop(), p.msg) || shown;
    if (err.status === 401) showLogin(err.message);
    $('i-msg').className = 'msg bad';
    text('i-msg', shown ? 'not applied: fix the marked field' : `not applied: ${ps.length ? ps.map((p) => p.msg).join('; ') : err.message}`);
  } finally {
    $('i-save').disabled = false;
  }
}

function ptzCard(name) {
  const c = $('t-ptz').content.firstElementChild.cloneNode(true);
  c.querySelector('.pname').textContent = name;
  const msg = c.querySelector('.msg');
  const send = async (body) => {
    try {
      await api(`/api/v1/ptz/${encodeURIComponent(name)}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      msg.textContent = `${body.action}${body.preset ? ' ' + body.preset : ''}`;
    } catch (err) {
      msg.textContent = err.message;
      if (err.status === 401) showLogin(err.message);
    }
  };
  for (const b of c.querySelectorAll('button[data-a]')) {
    const action = b.dataset.a;
    if (action === 'stop') { b.addEventListener('click', () => send({ action })); continue; }
    // Move while pressed, stop on release (mouse, touch and keyboard).
    let moving = false;
    const start = (e) => { e.preventDefault(); if (!moving) { moving = true; send({ action, speed: 32 }); } };
    const stop = () => { if (moving) { moving = false; send({ action: 'stop' }); } };
    b.addEventListener('pointerdown', start);
    for (const ev of ['pointerup', 'pointerleave', 'pointercancel', 'blur']) b.addEventListener(ev, stop);
    b.addEventListener('keydown', (e) => { if (e.key === ' ' || e.key === 'Enter') start(e); });
    b.addEventListener('keyup', stop);
  }
  for (const b of c.querySelectorAll('button[data-p]')) {
    b.addEventListener('click', () => {
      const n = parseInt(c.querySelector('.preset').value, 10);
      if (!(n >= 1 && n <= 255)) { msg.textContent = 'a preset is 1 to 255'; return; }
      if (b.dataset.p === 'preset_set' && !confirm(`Store the camera's position as preset ${n}?`)) return;
      send({ action: b.dataset.p, preset: n });
    });
  }
  return c;
}

function deviceCard(d) {
  const c = document.createElement('div');
  c.className = 'card';
  const h = document.createElement('h3');
  h.textContent = d.path;
  const p = document.createElement('p');
  p.className = 'sub';
  p.textContent = [d.card, d.driver, d.bus].filter(Boolean).join(' · ') + (d.capture ? '' : ' (not a capture node)');
  c.append(h, p);
  if (d.error) c.append(span('sub', d.error));
  const ul = document.createElement('ul');
  for (const f of d.formats || []) {
    const sizes = (f.sizes || []).slice(0, 6).map((z) => `${z.width}×${z.height}${z.fps && z.fps.length ? '@' + Math.max(...z.fps) : ''}`);
    const e = document.createElement('li');
    e.append(`${f.name || f.fourcc} (${f.description})${sizes.length ? ': ' + sizes.join(', ') : ''}${(f.sizes || []).length > 6 ? ', …' : ''} `);
    if (d.capture && f.name) {
      const z = (f.sizes || [])[0];
      e.append(button('add', '', () => openForm({ name: d.path.split('/').pop(),
        input: `v4l2://${d.path}?format=${f.name}${z ? `&size=${z.width}x${z.height}` : ''}` }, 'add')));
    }
    ul.append(e);
  }
  c.append(ul);
  return c;
}

// ---- GB28181 ----
// The devices that registered over SIP, their channels with a live preview
// (playing live/DEVICEID_CHANNELID invites the channel) and, for PTZ
// channels, the PTZ pad (POST /api/v1/ptz/DEVICEID_CHANNELID).
const gb = { devs: new Map(), chans: new Map(), conf: undefined };

const hasGB = () => !!(state.env && (state.env.features || []).includes('gb28181'));
const ago = (t) => { const s = (Date.now() - Date.parse(t)) / 1000; return t && s < 1e9 ? `${fmtDur(Math.max(0, s))} ago` : 'never'; };

function gbChannel(d, ch) {
  const key = `${d.id}_${ch.id}`;
  let c = gb.chans.get(key);
  if (!c) {
    c = document.createElement('li');
    c.className = 'gbch';
    c.st = { app: 'live', name: key, vhost: '__defaultVhost__' };
    const pv = $('t-stream').content.querySelector('.preview').cloneNode(true);
    pv.querySelector('.nopreview').textContent = `live/${key}`;
    pv.querySelector('.play').addEventListener('click', () => togglePreview(c, c.st));
    const head = document.createElement('p');
    head.append(span('cname', ''), ' ', span('state', ''));
    c.append(head, pv);
    // PTZ: dome, half dome, remote (1, 2, 4); not fixed (3) nor unknown.
    if ([1, 2, 4].includes(ch.ptz_type)) {
      const pad = ptzCard(key);
      pad.querySelector('.pname').textContent = `PTZ · ${ch.name || ch.id}`;
      c.append(pad);
    }
    gb.chans.set(key, c);
  }
  const on = (ch.status || '').toUpperCase() === 'ON';
  c.querySelector('.cname').textContent = `${ch.name || 'channel'} · ${ch.id}`;
  const st = c.querySelector('.state');
  st.textContent = ch.status || '?';
  st.className = `state ${on ? 'running' : 'failed'}`;
  c.querySelector('.play').hidden = pickPreview() === 'snapshot';
  return c;
}

function gbDevice(d) {
  let c = gb.devs.get(d.id);
  if (!c) {
    c = document.createElement('div');
    c.className = 'card gbdev';
    c.innerHTML = '<h3></h3><p><span class="state"></span> <span class="sub ka"></span></p><p class="sub model"></p><p class="sub addr"></p><ul></ul>';
    gb.devs.set(d.id, c);
  }
  c.querySelector('h3').textContent = `${d.name || 'device'} · ${d.id}`;
  const st = c.querySelector('.state');
  st.textContent = d.online ? 'online' : 'offline';
  st.className = `state ${d.online ? 'running' : 'failed'}`;
  c.querySelector('.ka').textContent = `keepalive ${ago(d.last_keepalive)}`;
  c.querySelector('.model').textContent = [d.manufacturer, d.model, d.firmware].filter(Boolean).join(' · ');
  c.querySelector('.addr').textContent = `${(d.transport || '').toUpperCase()} ${d.address || ''} · registered ${ago(d.registered)}`;
  const chs = (d.channels || []).map((ch) => gbChannel(d, ch));
  const ul = c.querySelector('ul');
  if (chs.length !== ul.childElementCount || chs.some((x, i) => ul.children[i] !== x)) ul.replaceChildren(...chs);
  return c;
}

async function pollGB() {
  const r = await api('/api/v1/gb28181/devices');
  const ds = r.devices || [];
  const k = gb.conf;
  $('gb').hidden = !(ds.length || (k && k.enabled) || k === null);
  const seen = new Set(ds.map((d) => d.id));
  for (const id of gb.devs.keys()) if (!seen.has(id)) gb.devs.delete(id);
  const keys = new Set(ds.flatMap((d) => (d.channels || []).map((ch) => `${d.id}_${ch.id}`)));
  for (const [key, c] of gb.chans) if (!keys.has(key)) { stopPreview(c); gb.chans.delete(key); }
  const cards = ds.map(gbDevice);
  const box = $('g-list');
  if (cards.length !== box.childElementCount || cards.some((c, i) => box.children[i] !== c)) box.replaceChildren(...cards);
  $('g-empty').hidden = ds.length > 0;
  // What a camera's "SIP server" page needs (never the password itself).
  // The bound ports (env.json) over the configured ones: 0 means any free port.
  const sipPort = (state.env && state.env.gb28181) || (k && (k.listen || '').split(':').pop());
  const mediaPort = (state.env && state.env.gb28181_media) || (k && k.media_port);
  text('g-sip', k ? `SIP server ID ${k.server_id} · domain ${k.domain} · port ${sipPort} (UDP and TCP) · ` +
    `${k.password ? 'password set' : 'no password'} · media port ${mediaPort}${k.enabled ? '' : ' · disabled ([gb28181] enabled = false)'}` :
    'The SIP settings (server ID, domain, port) are in the config: log in to see them.');
}

async function pollCameras() {
  const now = Date.now();
  const [ing, devs] = await Promise.all([api('/api/v1/ingests'),
    now - cams.devAt > 10000 ? api('/api/v1/devices') : Promise.resolve(null)]);
  if (state.page !== 'cameras') return;
  const list = ing.ingests || [];
  const seen = new Set(list.map((x) => x.name));
  for (const k of cams.cards.keys()) if (!seen.has(k)) cams.cards.delete(k);
  const cards = list.map(ingestCard);
  const box = $('i-list');
  if (cards.length !== box.childElementCount || cards.some((c, i) => box.children[i] !== c)) box.replaceChildren(...cards);
  $('i-empty').hidden = list.length > 0;
  if (devs) {
    cams.devAt = now;
    const ds = devs.devices || [];
    $('v-list').replaceChildren(...ds.map(deviceCard));
    $('v-empty').hidden = ds.length > 0;
  }
  // The serial PTZ ports are in the config, which needs write access.
  if (now - cams.serialAt > 30000) {
    cams.serialAt = now;
    try {
      const c = await api('/api/v1/config');
      gb.conf = c.data.config.gb28181 || null;
      const names = (c.data.config.serial || []).map((x) => x.name);
      if (JSON.stringify(names) !== JSON.stringify(cams.serials)) {
        cams.serials = names;
        $('p-list').replaceChildren(...names.map(ptzCard));
      }
      text('p-empty', 'No serial PTZ port ([[serial]] in the config).');
      $('p-empty').hidden = names.length > 0;
    } catch (err) {
      gb.conf = null;
      text('p-empty', err.status === 401 ? 'PTZ needs write access: log in.' : `PTZ: ${err.message}`);
      $('p-empty').hidden = false;
    }
  }
  if (hasGB()) await pollGB();
}

// ---- recordings ----
const recs = { at: 0 };

function encodePath(p) { return p.split('/').map(encodeURIComponent).join('/'); }

async function download(ev, f, a) {
  // A plain link, unless logged in (the box may need the credentials for
  // reads): then fetched with them and handed over as a blob.
  if (!state.auth) return;
  ev.preventDefault();
  try {
    const r = await fetch(a.href, { headers: authHeaders() });
    if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
    const u = URL.createObjectURL(await r.blob());
    const tmp = document.createElement('a');
    tmp.href = u;
    tmp.download = f.name;
    document.body.append(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(u), 60000);
  } catch (err) {
    setStatus(`download: ${err.message}`, true);
  }
}

async function removeRecording(f) {
  if (!confirm(`Delete the recording ${f.path}?`)) return;
  try {
    await api(`/api/v1/dvr/files/${encodePath(f.path)}`, { method: 'DELETE' });
    setStatus(`${f.name} deleted`);
    recs.at = 0;
    pollRecordings();
  } catch (err) {
    failed(`delete ${f.name}`, err);
  }
}

function td(cls, v) {
  const e = document.createElement('td');
  if (cls) e.className = cls;
  if (v instanceof Node) e.append(v); else e.textContent = v;
  return e;
}

async function pollRecordings() {
  if (Date.now() - recs.at < 5000) return;
  const r = await api('/api/v1/dvr/files');
  recs.at = Date.now();
  if (state.page !== 'recordings') return;
  const files = r.files || [];
  const sig = JSON.stringify(files);
  if (recs.sig === sig) return;
  recs.sig = sig;
  $('r-list').replaceChildren(...files.map((f) => {
    const tr = document.createElement('tr');
    tr.dataset.path = f.path;
    const name = td('file', f.name);
    name.title = f.path;
    const a = document.createElement('a');
    a.href = `/api/v1/dvr/files/${encodePath(f.path)}`;
    a.download = f.name;
    a.textContent = 'download';
    a.addEventListener('click', (ev) => download(ev, f, a));
    const acts = td('acts', a);
    acts.append(' ', button('delete', 'kick', () => removeRecording(f)));
    tr.append(name, td('', f.stream || '–'), td('', f.duration != null ? fmtDur(f.duration) : '–'),
      td('', fmtBytes(f.size)), td('', new Date(f.mtime).toLocaleString()), acts);
    return tr;
  }));
  $('r-table').hidden = files.length === 0;
  $('r-empty').hidden = files.length > 0;
  const total = files.reduce((n, f) => n + f.size, 0);
  text('r-total', files.length ? `${files.length} file${files.length === 1 ? '' : 's'}, ${fmtBytes(total)}` : '');
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
    cfg.etag = meta.etag;
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
    const b = tomlBody();
    if (cfg.etag) b.headers['If-Match'] = cfg.etag;
    const r = await api('/api/v1/config', { method: 'PUT', ...b });
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
  $('i-add').addEventListener('click', () => openForm(null, 'add'));
  $('i-cancel').addEventListener('click', () => { $('i-form').hidden = true; });
  $('i-form').addEventListener('submit', saveIngest);
  $('login-form').addEventListener('submit', login);
  $('login-cancel').addEventListener('click', () => { $('login').hidden = true; });
  for (const r of document.querySelectorAll('input[name=login-kind]')) r.addEventListener('change', loginKindChanged);
  $('who-in').addEventListener('click', () => showLogin('Log in with the credentials of [http_api.auth].'));
  $('who-out').addEventListener('click', logout);
  const ed = $('c-editor');
  ed.addEventListener('input', gutter);
  ed.addEventListener('scroll', () => { $('c-gutter').scrollTop = ed.scrollTop; });
}

// ---- pages ----
const pages = { dashboard: pollSummary, streams: pollStreams, cameras: pollCameras, recordings: pollRecordings,
  logs: pollLogs, config: pollConfig };
let timer = 0;

async function tick() {
  clearTimeout(timer);
  try {
    if (state.page !== 'dashboard') await pollSummary(); // keep the chart's history
    await pages[state.page]();
    setStatus(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    if (err.status === 401) {
      setStatus('unauthorized: log in', true);
      showLogin(err.message);
    } else {
      setStatus(`error: ${err.message}`, true);
    }
  }
  timer = setTimeout(tick, POLL_MS);
}

function route() {
  const p = location.hash.replace(/^#\/?/, '') || 'dashboard';
  state.page = pages[p] ? p : 'dashboard';
  if (state.page !== 'streams') stopAllPreviews(state.cards);
  if (state.page !== 'cameras') stopAllPreviews(gb.chans);
  recs.at = 0;
  recs.sig = '';
  for (const s of document.querySelectorAll('.page')) s.hidden = s.id !== state.page;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === state.page);
  document.title = `${state.page[0].toUpperCase()}${state.page.slice(1)} · srs-lite`;
  tick();
}

async function loadEnv() {
  try {
    state.env = await api('/console/env.json');
  } catch (err) {
    setStatus(`error: ${err.message}`, true);
    if (err.status === 401) showLogin(err.message);
  }
}

async function main() {
  loadAuth();
  showWho();
  setupPages();
  await loadEnv();
  window.addEventListener('hashchange', route);
  route();
}

main();
