// The review page: one HTML file, inline CSS and JavaScript, no network (docs/review.md).
// The page shows what the result says and records what the clinician does; it never computes a
// volume or an EF (echoa review apply does, with the SDK's geometry).
// Placeholders: @@TITLE@@, @@RESULT_JSON@@, @@FRAMES_JSON@@ (JSON with '<' escaped).
#include "review/review_page.hpp"

namespace echo::review {

const char* page_template() {
  return R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>LVEF review: @@TITLE@@</title>
<style>
body{font-family:sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#8a1c1c;color:#fff;padding:8px 16px;font-weight:bold}
main{display:grid;grid-template-columns:minmax(420px,1fr) minmax(420px,1fr);gap:12px;padding:12px}
section{background:#fff;border-radius:6px;padding:10px 12px;box-shadow:0 1px 2px #0002}
h2{font-size:15px;margin:0 0 8px}
canvas{background:#000;max-width:100%;display:block}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccd;padding:2px 6px;text-align:right}
.big{font-size:28px;font-weight:bold}.muted{color:#667}.row{display:flex;gap:12px;flex-wrap:wrap;align-items:center}
.fail{color:#a00}.pass{color:#070}.kf{display:grid;grid-template-columns:1fr 1fr;gap:8px}
button{padding:4px 10px}textarea{width:100%;height:90px;font-family:monospace;font-size:11px}
.changed{background:#fff3c4}
</style></head><body>
<header id="banner"></header>
<main>
<section>
 <h2>Result (as proposed by the AI)</h2>
 <div class="row"><div>EF <span id="ef" class="big"></span> %</div><div id="category"></div></div>
 <div class="row"><div>EDV <span id="edv"></span> mL</div><div>ESV <span id="esv"></span> mL</div>
  <div>ED frame <span id="ai-ed-frame"></span></div><div>ES frame <span id="ai-es-frame"></span></div></div>
 <div class="muted" id="withheld"></div>
 <h2 style="margin-top:10px">Quality <span id="quality"></span></h2><ul id="reasons"></ul>
 <h2>VLM answer</h2><div id="vlm"></div>
 <h2 style="margin-top:10px">Beats</h2>
 <table id="beats"><thead><tr><th>#</th><th>ED</th><th>ES</th><th>EDV mL</th><th>ESV mL</th><th>EF %</th><th>used</th></tr></thead><tbody></tbody></table>
</section>
<section>
 <h2>Loop (LV contour on every frame)</h2>
 <canvas id="loop"></canvas>
 <div class="row"><button id="play">Pause</button><input id="loop-slider" type="range" min="0" value="0" style="flex:1">
  <span>frame <span id="loop-frame">0</span></span></div>
 <svg id="curve" width="100%" height="150" viewBox="0 0 600 150" preserveAspectRatio="none"></svg>
 <div class="muted">Volume curve (method of discs, per frame); blue: ED, red: ES of each beat; click to go to a frame.</div>
</section>
<section style="grid-column:1 / span 2">
 <h2>Keyframes: drag the white handles to correct a contour; pause the loop on a frame and pick it as ED or ES</h2>
 <div class="kf">
  <div><div>ED frame <span id="ed-frame"></span> <span id="ed-note" class="muted"></span></div><canvas id="ed-canvas"></canvas></div>
  <div><div>ES frame <span id="es-frame"></span> <span id="es-note" class="muted"></span></div><canvas id="es-canvas"></canvas></div>
 </div>
 <div class="row" style="margin-top:8px"><button id="set-ed">Use loop frame as ED</button><button id="set-es">Use loop frame as ES</button>
  <button id="undo">Undo all changes</button><span id="message" class="muted"></span></div>
</section>
<section style="grid-column:1 / span 2">
 <h2>Decision</h2>
 <div class="row">Reviewer role <input id="role" list="roles" placeholder="e.g. cardiologist"><datalist id="roles">
  <option value="cardiologist"><option value="sonographer"><option value="physician"><option value="fellow"></datalist>
  <button id="accept">Accept</button> Reject reason <input id="reject-reason" size="40"><button id="reject">Reject</button>
  <button id="export">Export corrections</button><span id="decision" class="muted"></span></div>
 <div class="muted">The page never computes volumes or EF: <code>echoa review apply result.json corrections.json</code> recomputes them from the exported frames and contours.</div>
 <textarea id="corrections-out" readonly></textarea>
</section>
</main>
<script type="application/json" id="echo-result">@@RESULT_JSON@@</script>
<script type="application/json" id="echo-frames">@@FRAMES_JSON@@</script>
<script>
"use strict";
const R = JSON.parse(document.getElementById('echo-result').textContent);
const F = JSON.parse(document.getElementById('echo-frames').textContent);
const V = R.review, N = R.frames, S = F.width / R.cols;
const $ = id => document.getElementById(id);
const copy = c => c.map(p => [p[0], p[1]]);
const fmt = (v, d) => (v === null || v === undefined) ? '\u2014' : Number(v).toFixed(d);
const images = F.jpeg.map(b => { const i = new Image(); i.src = 'data:image/jpeg;base64,' + b; return i; });
const aiKey = k => (R[k] && R[k].frame !== undefined) ? R[k].frame : null;
const state = { ed: null, es: null, actions: [], decision: null, rejectReason: '' };
function resetKeyframes() {
  for (const k of ['ed', 'es']) {
    const f = aiKey(k);
    state[k] = f === null ? null : { frame: f, contour: copy(V.frame_contours_px[f]) };
  }
  state.actions = []; state.decision = null;
}
function changed(k) {
  const s = state[k], f = aiKey(k);
  if (!s || f === null) return s !== null;
  if (s.frame !== f) return true;
  const ai = V.frame_contours_px[f];
  return s.contour.length !== ai.length || s.contour.some((p, i) => p[0] !== ai[i][0] || p[1] !== ai[i][1]);
}
function setValue(id, v, d) { const e = $(id); e.textContent = fmt(v, d); e.dataset.value = (v === null || v === undefined) ? '' : String(v); }

// ---- summary (values exactly as in the result) ----
$('banner').textContent = R.notice + (R.second_opinion ? ' (second opinion)' : '');
setValue('ef', R.ef_percent, 1); setValue('edv', R.edv_ml, 1); setValue('esv', R.esv_ml, 1);
setValue('ai-ed-frame', aiKey('ed'), 0); setValue('ai-es-frame', aiKey('es'), 0);
$('category').textContent = R.category ? R.category + (R.hf_class ? ' (' + R.hf_class + ')' : '') : '';
$('withheld').textContent = R.ef_percent === null ? 'EF withheld: ' + R.ef_withheld_reason : (R.volumes_unavailable_reason || '');
$('quality').textContent = R.quality.pass ? 'pass' : 'fail'; $('quality').className = R.quality.pass ? 'pass' : 'fail';
$('quality').dataset.value = String(R.quality.pass);
for (const r of R.quality.reasons) {
  const li = document.createElement('li'); li.dataset.code = r.code; li.dataset.severity = r.severity;
  li.textContent = r.message_en + (r.value !== null ? ' (value ' + fmt(r.value, 2) + ', threshold ' + fmt(r.threshold, 2) + ')' : '');
  $('reasons').appendChild(li);
}
if (!R.quality.reasons.length) $('reasons').innerHTML = '<li class="muted">none</li>';
$('vlm').textContent = R.vlm ? R.vlm.text + (R.vlm.cross_check && R.vlm.cross_check.disagrees ? ' \u2014 DISAGREES with the measured EF by ' + fmt(R.vlm.cross_check.difference_points, 0) + ' points' : '') : 'not asked (analyse with --vlm)';
R.beats.forEach((b, i) => {
  const tr = document.createElement('tr');
  for (const v of [i + 1, b.ed_frame, b.es_frame, fmt(b.edv_ml, 1), fmt(b.esv_ml, 1), fmt(b.ef_percent, 1), b.excluded ? 'no: ' + b.exclusion_reason : 'yes']) {
    const td = document.createElement('td'); td.textContent = v; tr.appendChild(td);
  }
  $('beats').tBodies[0].appendChild(tr);
});

// ---- drawing ----
function drawContour(ctx, c, colour, width) {
  if (!c || c.length < 3) return;
  ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
  c.forEach((p, i) => (i ? ctx.lineTo(p[0] * S, p[1] * S) : ctx.moveTo(p[0] * S, p[1] * S)));
  ctx.closePath(); ctx.stroke();
}
function fitCanvas(canvas) { canvas.width = F.width; canvas.height = F.height; }
const loop = $('loop'); fitCanvas(loop);
let current = 0, playing = true, framesDrawn = 0;
const contourFramesDrawn = new Set();
function drawLoop() {
  const ctx = loop.getContext('2d');
  ctx.drawImage(images[current], 0, 0, F.width, F.height);
  const c = V.frame_contours_px[current];
  drawContour(ctx, c, '#00ff00', 2);
  if (c.length >= 3) contourFramesDrawn.add(current);
  framesDrawn++;
  $('loop-frame').textContent = current; $('loop-slider').value = current; drawCursor();
}
$('loop-slider').max = N - 1;
const times = R.frame_times_ms;
const interval = N > 1 ? Math.max(10, (times[N - 1] - times[0]) / (N - 1)) : 40;
setInterval(() => { if (playing && images[current].complete) { current = (current + 1) % N; drawLoop(); } }, interval);
$('play').onclick = () => { playing = !playing; $('play').textContent = playing ? 'Pause' : 'Play'; };
$('loop-slider').oninput = () => { playing = false; $('play').textContent = 'Play'; current = Number($('loop-slider').value); drawLoop(); };

// ---- volume curve ----
const curve = $('curve'), svgNS = 'http://www.w3.org/2000/svg';
const vols = R.lv_volume_ml, vmax = Math.max(1e-9, ...vols), cx = f => 600 * f / Math.max(1, N - 1), cy = v => 140 - 130 * v / vmax;
function svg(tag, attrs) { const e = document.createElementNS(svgNS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); curve.appendChild(e); return e; }
svg('polyline', { points: vols.map((v, i) => cx(i) + ',' + cy(v)).join(' '), fill: 'none', stroke: '#345', 'stroke-width': 1.5 });
for (const b of R.beats) {
  svg('circle', { cx: cx(b.ed_frame), cy: cy(vols[b.ed_frame]), r: 4, fill: '#1565c0', 'data-ed': b.ed_frame });
  svg('circle', { cx: cx(b.es_frame), cy: cy(vols[b.es_frame]), r: 4, fill: '#c62828', 'data-es': b.es_frame });
}
const cursor = svg('line', { y1: 0, y2: 150, stroke: '#999' }), edLine = svg('line', { y1: 0, y2: 150, stroke: '#1565c0', 'stroke-dasharray': '4 3' }),
      esLine = svg('line', { y1: 0, y2: 150, stroke: '#c62828', 'stroke-dasharray': '4 3' });
function drawCursor() {
  cursor.setAttribute('x1', cx(current)); cursor.setAttribute('x2', cx(current));
  for (const [k, line] of [['ed', edLine], ['es', esLine]]) {
    const x = state[k] ? cx(state[k].frame) : -10; line.setAttribute('x1', x); line.setAttribute('x2', x);
  }
}
curve.onclick = e => {
  const r = curve.getBoundingClientRect();
  current = Math.min(N - 1, Math.max(0, Math.round((e.clientX - r.left) / r.width * (N - 1))));
  playing = false; $('play').textContent = 'Play'; drawLoop();
};

// ---- keyframes ----
const handleStep = c => Math.max(1, Math.floor(c.length / 24));
function drawKeyframe(k) {
  const canvas = $(k + '-canvas'), s = state[k];
  fitCanvas(canvas);
  const ctx = canvas.getContext('2d');
  if (!s) { $(k + '-frame').textContent = '\u2014'; return; }
  ctx.drawImage(images[s.frame], 0, 0, F.width, F.height);
  const edited = changed(k);
  if (!edited && V[k + '_discs_px']) {  // the AI's own discs and long axis, as measured
    ctx.strokeStyle = '#ffd54f'; ctx.lineWidth = 1;
    for (const d of V[k + '_discs_px']) { ctx.beginPath(); ctx.moveTo(d[0] * S, d[1] * S); ctx.lineTo(d[2] * S, d[3] * S); ctx.stroke(); }
    const g = R[k];
    if (g && g.apex_px) {
      const mx = (g.annulus_left_px[0] + g.annulus_right_px[0]) / 2, my = (g.annulus_left_px[1] + g.annulus_right_px[1]) / 2;
      ctx.strokeStyle = '#ff5252'; ctx.beginPath(); ctx.moveTo(mx * S, my * S); ctx.lineTo(g.apex_px[0] * S, g.apex_px[1] * S); ctx.stroke();
    }
  }
  drawContour(ctx, s.contour, '#00ff00', 2);
  ctx.fillStyle = '#fff';
  for (let i = 0; i < s.contour.length; i += handleStep(s.contour)) ctx.fillRect(s.contour[i][0] * S - 3, s.contour[i][1] * S - 3, 6, 6);
  $(k + '-frame').textContent = s.frame; $(k + '-frame').dataset.value = String(s.frame);
  $(k + '-frame').parentElement.className = edited ? 'changed' : '';
  $(k + '-note').textContent = edited ? 'changed: discs, volumes and EF are recomputed by echoa review apply' : 'as proposed by the AI (discs yellow, long axis red)';
}
function redraw() { drawKeyframe('ed'); drawKeyframe('es'); drawCursor(); }
function handleAt(k, clientX, clientY) {
  const s = state[k]; if (!s) return -1;
  const r = $(k + '-canvas').getBoundingClientRect(), scale = r.width / F.width;
  let best = -1, bestD = 12;
  for (let i = 0; i < s.contour.length; i += handleStep(s.contour)) {
    const d = Math.hypot(r.left + s.contour[i][0] * S * scale - clientX, r.top + s.contour[i][1] * S * scale - clientY);
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
}
function handleClientXY(k, index) {
  const r = $(k + '-canvas').getBoundingClientRect(), scale = r.width / F.width, p = state[k].contour[index];
  return [r.left + p[0] * S * scale, r.top + p[1] * S * scale];
}
let drag = null;
for (const k of ['ed', 'es']) {
  const canvas = $(k + '-canvas');
  canvas.addEventListener('mousedown', e => {
    const i = handleAt(k, e.clientX, e.clientY);
    if (i >= 0) { drag = { k, i, start: copy(state[k].contour), x: e.clientX, y: e.clientY }; e.preventDefault(); }
  });
}
// A dragged handle moves its neighbours with a Gaussian fall-off along the contour, so the outline stays smooth.
window.addEventListener('mousemove', e => {
  if (!drag) return;
  const s = state[drag.k], r = $(drag.k + '-canvas').getBoundingClientRect(), scale = r.width / F.width;
  const dx = (e.clientX - drag.x) / (S * scale), dy = (e.clientY - drag.y) / (S * scale);
  const n = drag.start.length, sigma = handleStep(drag.start);
  s.contour = drag.start.map((p, j) => {
    const d = Math.min(Math.abs(j - drag.i), n - Math.abs(j - drag.i)), w = Math.exp(-0.5 * (d / sigma) ** 2);
    return d <= 3 * sigma ? [Math.round((p[0] + w * dx) * 100) / 100, Math.round((p[1] + w * dy) * 100) / 100] : p;
  });
  drawKeyframe(drag.k);
});
window.addEventListener('mouseup', () => {
  if (!drag) return;
  const p0 = drag.start[drag.i], p1 = state[drag.k].contour[drag.i];
  if (p0[0] !== p1[0] || p0[1] !== p1[1]) {
    state.actions.push({ action: 'move_point', key: drag.k, frame: state[drag.k].frame, index: drag.i, from: p0, to: p1 });
    if (state.decision === 'accept') state.decision = null;
    showDecision();
  }
  drag = null; redraw();
});
function pick(k) {
  const c = V.frame_contours_px[current];
  if (c.length < 3) { $('message').textContent = 'frame ' + current + ' has no AI contour to start from'; return; }
  const other = k === 'ed' ? 'es' : 'ed';
  if (state[other] && state[other].frame === current) { $('message').textContent = 'frame ' + current + ' is already ' + other.toUpperCase(); return; }
  const from = state[k] ? state[k].frame : null;
  state[k] = { frame: current, contour: copy(c) };
  state.actions.push({ action: 'pick_frame', key: k, from: from, to: current });
  if (state.decision === 'accept') state.decision = null;
  $('message').textContent = k.toUpperCase() + ' is now frame ' + current; showDecision(); redraw();
}
$('set-ed').onclick = () => pick('ed'); $('set-es').onclick = () => pick('es');
$('undo').onclick = () => { resetKeyframes(); $('message').textContent = 'back to the AI proposal'; showDecision(); redraw(); };

// ---- decision and export ----
function anyChange() { return changed('ed') || changed('es'); }
function showDecision() {
  $('decision').textContent = state.decision === null ? 'no decision yet' :
    state.decision === 'reject' ? 'rejected: ' + state.rejectReason : state.decision === 'correct' ? 'corrections confirmed' : 'accepted as proposed';
  $('decision').dataset.value = state.decision || '';
}
$('accept').onclick = () => {
  if (!state.ed || !state.es) { $('message').textContent = 'no ED/ES frames to accept: pick them or reject'; return; }
  state.decision = anyChange() ? 'correct' : 'accept'; showDecision();
};
$('reject').onclick = () => {
  const reason = $('reject-reason').value.trim();
  if (!reason) { $('message').textContent = 'a rejection needs a reason'; return; }
  state.decision = 'reject'; state.rejectReason = reason; showDecision();
};
function corrections() {
  const c = { schema: 'echoanalyzer.corrections/1', study_sha256: V.study_sha256, reviewer_role: $('role').value.trim(),
              reviewed_at: new Date().toISOString(), decision: state.decision, actions: state.actions };
  if (state.decision === 'reject') c.reject_reason = state.rejectReason;
  else for (const k of ['ed', 'es']) c[k] = { frame: state[k].frame, contour_px: state[k].contour };
  return c;
}
$('export').onclick = () => {
  if (!state.decision) { $('message').textContent = 'accept or reject first'; return; }
  if (!$('role').value.trim()) { $('message').textContent = 'give the reviewer role'; return; }
  const text = JSON.stringify(corrections(), null, 1);
  $('corrections-out').value = text;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  a.download = 'corrections.json'; document.body.appendChild(a); a.click(); a.remove();
  $('message').textContent = 'corrections.json exported';
};
window.echoReview = { state, handleClientXY, handleStep, framesDrawn: () => framesDrawn,
                      contourFramesDrawn: () => Array.from(contourFramesDrawn).sort((a, b) => a - b), current: () => current };
resetKeyframes(); showDecision();
Promise.all(images.map(i => i.decode ? i.decode().catch(() => 0) : 0)).then(() => { drawLoop(); redraw(); });
</script></body></html>
)HTML";
}

}  // namespace echo::review
