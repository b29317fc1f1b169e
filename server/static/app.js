// imgedit web page: plain JavaScript over the REST API and the /v1/ws WebSocket.
// Image bytes come over HTTP with the API key header (turned into object URLs); frames carry ids.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { key: localStorage.getItem("imgedit.key") || "", sessionId: localStorage.getItem("imgedit.session"),
  session: null, imageId: null, ws: null, jobs: new Map(), blobs: new Map(), activeJob: null, deckJob: null };

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.key}`, ...(options.headers || {}) };
  let body = options.body;
  if (body && !(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
  const response = await fetch(path, { ...options, headers, body });
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) { const err = new Error(data?.message || response.statusText); err.code = data?.code; err.status = response.status; throw err; }
  return data;
}

async function imageUrl(path) {
  if (!state.blobs.has(path)) {
    state.blobs.set(path, fetch(path, { headers: { Authorization: `Bearer ${state.key}` } })
      .then((r) => { if (!r.ok) throw new Error(`image ${r.status}`); return r.blob(); })
      .then((b) => URL.createObjectURL(b)));
  }
  return state.blobs.get(path);
}

function say(role, text, image) {
  const li = document.createElement("li");
  li.className = role;
  li.textContent = text;
  if (image) { const img = document.createElement("img"); img.alt = role === "user" ? "uploaded image" : "edited image"; imageUrl(image).then((u) => { img.src = u; }); li.append(img); }
  $("#chat").append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

// -- connection ---------------------------------------------------------------------------

async function connect() {
  if (!state.key) { $("#conn").textContent = "no key"; return; }
  try {
    await api("/v1/sessions");
  } catch (err) { $("#conn").textContent = err.status === 401 ? "bad key" : "offline"; $("#conn").className = "badge off"; return; }
  await ensureSession();
  openSocket();
  loadThemes();
}

function openSocket() {
  if (state.ws) state.ws.close();
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/ws`);
  state.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: state.key }));
  ws.onmessage = (event) => onFrame(JSON.parse(event.data));
  ws.onclose = () => {
    $("#conn").textContent = "offline"; $("#conn").className = "badge off";
    if (state.ws === ws) setTimeout(openSocket, 2000);  // reconnect, then ask for job states
  };
}

/** Send a frame if the socket is open (after a reconnect, the "ready" handler catches up). */
function sendFrame(frame) {
  if (state.ws?.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

function onFrame(frame) {
  if (frame.type === "ready") {
    $("#conn").textContent = "connected"; $("#conn").className = "badge";
    // The server sends only the events of followed jobs and joined sessions: (re)follow ours.
    if (state.sessionId) sendFrame({ type: "join", session_id: state.sessionId });
    for (const jobId of state.jobs.keys()) sendFrame({ type: "subscribe", job_id: jobId });
    sendFrame({ type: "jobs" });
  } else if (frame.type === "progress") {
    if (frame.job_id === state.activeJob) showProgress(frame.done, frame.total, "running");
    if (frame.job_id === state.deckJob) showDeckProgress(frame.done, frame.total);
  } else if (frame.type === "job") {
    onJob(frame);
  } else if (frame.type === "jobs") {
    for (const job of frame.jobs) if (state.jobs.has(job.job_id)) onJob(job);
  }
}

function onJob(frame) {
  const waiter = state.jobs.get(frame.job_id);
  // A job of this session that someone (this tab, another tab) started: follow its progress.
  if (!state.activeJob && frame.session_id === state.sessionId && ["queued", "running"].includes(frame.status)) {
    state.activeJob = frame.job_id;
  }
  if (frame.job_id === state.activeJob && !waiter && ["done", "failed", "cancelled"].includes(frame.status)) {
    state.activeJob = null; $("#progress").hidden = true; return;
  }
  if (frame.job_id === state.activeJob) showProgress(frame.done, frame.total, frame.status);
  if (!waiter || !["done", "failed", "cancelled"].includes(frame.status)) return;
  state.jobs.delete(frame.job_id);
  if (frame.job_id === state.activeJob) { state.activeJob = null; $("#progress").hidden = true; }
  waiter(frame);
}

function waitForJob(jobId) {
  state.activeJob = jobId;
  showProgress(0, 0, "queued");
  return new Promise((resolve) => {
    state.jobs.set(jobId, resolve);
    // Subscribing answers the job's current state at once, so a job already over is not missed.
    sendFrame({ type: "subscribe", job_id: jobId });
  });
}

function showProgress(done, total, status) {
  $("#progress").hidden = false;
  $("#progress-fill").style.width = total ? `${Math.round((100 * done) / total)}%` : status === "done" ? "100%" : "4%";
  $("#progress-text").textContent = total ? `${status} ${done}/${total}` : status;
}

// -- session and images -------------------------------------------------------------------

async function ensureSession(fresh = false) {
  if (!fresh && state.sessionId) {
    try { await refresh(); return; } catch (err) { if (err.status !== 404) throw err; }
  }
  const created = await api("/v1/sessions", { method: "POST", body: { title: "web" } });
  if (state.sessionId) sendFrame({ type: "leave", session_id: state.sessionId });
  state.sessionId = created.id;
  sendFrame({ type: "join", session_id: created.id });  // its jobs and replies, from any tab
  localStorage.setItem("imgedit.session", created.id);
  $("#chat").replaceChildren();
  await refresh();
}

async function refresh() {
  state.session = await api(`/v1/sessions/${state.sessionId}`);
  const images = state.session.images;
  if (!images.some((i) => i.id === state.imageId)) state.imageId = images.length ? images[images.length - 1].id : null;
  if (!$("#chat").children.length) {
    for (const m of state.session.messages) say(m.role === "user" ? "user" : "bot", m.text);
  }
  render();
}

function currentImage() { return state.session?.images.find((i) => i.id === state.imageId) || null; }

async function render() {
  const image = currentImage();
  const compare = $("#compare");
  $("#undo").disabled = !image; $("#redo").disabled = !image || !image.can_redo;
  const timeline = $("#timeline");
  timeline.replaceChildren();
  if (!image) { compare.className = "empty"; $("#version-label").textContent = ""; return; }
  const head = image.versions.find((v) => v.id === image.head_version_id);
  const parent = head && image.versions.find((v) => v.id === head.parent_id);
  $("#undo").disabled = !parent;
  $("#version-label").textContent = `image ${image.position} · version ${head.number} of ${image.versions.length - 1}`;
  $("#after-img").src = await imageUrl(head.image_url);
  if (parent) { $("#before-img").src = await imageUrl(parent.image_url); compare.className = "has-before"; }
  else { $("#before-img").src = $("#after-img").src; compare.className = ""; }
  for (const v of image.versions) {
    const li = document.createElement("li");
    li.className = v.id === head.id ? "head" : "";
    li.dataset.versionId = v.id;
    li.title = v.instruction || "original";
    const img = document.createElement("img");
    img.alt = `version ${v.number}`;
    imageUrl(`${v.image_url}?max_side=192`).then((u) => { img.src = u; });
    li.append(img, v.number === 0 ? "original" : `v${v.number}`);
    li.onclick = () => act("revert", { version_id: v.id });
    timeline.append(li);
  }
}

async function upload(file) {
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const added = await api(`/v1/sessions/${state.sessionId}/images`, { method: "POST", body: form });
    state.imageId = added.image_id;
    await refresh();
    say("user", `Uploaded ${file.name}`, `/v1/versions/${added.version_id}/image?max_side=480`);
  } catch (err) { say("error", err.message); }
}

async function send(text) {
  if (!text.trim()) return;
  say("user", text);
  const image = currentImage();
  try {
    const body = { text, image_ids: image ? [image.id] : [] };
    let reply;
    try {
      reply = await api(`/v1/sessions/${state.sessionId}/messages`, { method: "POST", body });
    } catch (err) {
      if (err.code !== "agent_unavailable") throw err;
      reply = await directEdit(text, image);  // no chat agent on this server: edit directly
    }
    if (reply.image_id) state.imageId = reply.image_id;
    await refresh();
    say("bot", reply.reply || "Done.", reply.version_id ? `/v1/versions/${reply.version_id}/image?max_side=480` : null);
  } catch (err) { say("error", err.message); }
}

async function directEdit(instruction, image) {
  if (!image) throw new Error("Upload an image first.");
  const job = await api(`/v1/sessions/${state.sessionId}/edits`, { method: "POST", body: { instruction, image_id: image.id } });
  const done = await waitForJob(job.job_id);
  if (done.status !== "done") throw new Error(done.error?.message || `The edit was ${done.status}.`);
  return { reply: `Done: ${instruction}`, image_id: image.id, version_id: done.version_id };
}

async function act(action, body = {}) {
  const image = currentImage();
  if (!image) return;
  try {
    await api(`/v1/sessions/${state.sessionId}/${action}`, { method: "POST", body: { image_id: image.id, ...body } });
    await refresh();
  } catch (err) { say("error", err.message); }
}

// -- themes and decks ---------------------------------------------------------------------

async function loadThemes() {
  try {
    const { themes } = await api("/v1/themes");
    const box = $("#themes"); const select = $("#deck-theme");
    box.replaceChildren(); select.replaceChildren();
    for (const t of themes) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = `${t.name_en} · ${t.name_zh}`; b.title = t.description;
      b.onclick = () => send(`apply the ${t.name} theme`);
      box.append(b);
      select.append(new Option(`${t.name_en} · ${t.name_zh}`, t.name));
    }
  } catch (err) { $("#themes").textContent = err.message; }
}

async function restyleDeck(event) {
  event.preventDefault();
  const file = $("#deck-file").files[0];
  const status = $("#deck-status");
  status.className = "";
  if (!file) { status.textContent = "Choose a .pptx deck first."; return; }
  const prompt = $("#deck-prompt").value.trim();
  const form = new FormData();
  form.append("file", file, file.name);
  if (prompt) form.append("prompt", prompt); else form.append("theme", $("#deck-theme").value);
  try {
    status.textContent = "uploading…";
    const job = await api("/v1/decks", { method: "POST", body: form });
    state.deckJob = job.job_id;
    showDeckProgress(0, 0);
    status.textContent = "restyling…";
    const done = await new Promise((resolve) => {
      state.jobs.set(job.job_id, resolve);
      // Subscribing answers the job's current state at once, so a job already over is not missed.
      sendFrame({ type: "subscribe", job_id: job.job_id });
    });
    if (done.status !== "done") throw new Error(done.error?.message || `The restyle was ${done.status}.`);
    const info = await api(`/v1/jobs/${job.job_id}`);
    const link = document.createElement("a");
    link.href = await imageUrl(done.result_url);
    link.download = info.result?.filename || "restyled.pptx";
    link.textContent = `Download ${link.download}`;
    const summary = info.result?.report?.summary || {};
    const changed = (summary.edited || 0) + (summary.reused || 0) + (summary.resumed || 0);
    status.replaceChildren(link, ` · ${changed} picture${changed === 1 ? "" : "s"} restyled`);
  } catch (err) { status.textContent = err.message; status.className = "bad"; }
  finally { state.deckJob = null; $("#deck-progress").hidden = true; }
}

function showDeckProgress(done, total) {
  $("#deck-progress").hidden = false;
  $("#deck-progress-fill").style.width = total ? `${Math.round((100 * done) / total)}%` : "4%";
  if (total) $("#deck-status").textContent = `restyling pictures: ${done} of ${total}`;
}

// -- wiring -------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("#api-key").value = state.key;
  $("#key-form").onsubmit = (e) => { e.preventDefault(); state.key = $("#api-key").value.trim();
    localStorage.setItem("imgedit.key", state.key); connect(); };
  $("#new-session").onclick = () => ensureSession(true);
  $("#composer").onsubmit = (e) => { e.preventDefault(); const t = $("#message").value; $("#message").value = ""; send(t); };
  $("#file-input").onchange = (e) => upload(e.target.files[0]);
  const drop = $("#drop");
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove("over"); upload(e.dataTransfer.files[0]); };
  $("#undo").onclick = () => act("undo");
  $("#redo").onclick = () => act("redo");
  $("#slider").oninput = (e) => $("#compare").style.setProperty("--cut", `${e.target.value}%`);
  $("#cancel-job").onclick = () => state.activeJob && api(`/v1/jobs/${state.activeJob}`, { method: "DELETE" });
  $("#deck-form").onsubmit = restyleDeck;
  $("#deck-cancel").onclick = () => state.deckJob && api(`/v1/jobs/${state.deckJob}`, { method: "DELETE" });
  connect();
});
