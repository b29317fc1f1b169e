// imgedit web page: plain JavaScript over the REST API and the /v1/ws WebSocket.
// Image bytes come over HTTP with the API key header (turned into object URLs); frames carry ids.
// Words come from i18n.js (English or Chinese, following the browser until the user switches).
"use strict";

const $ = (sel) => document.querySelector(sel);
const t = (...args) => i18n.t(...args);
const state = { key: localStorage.getItem("imgedit.key") || "", sessionId: localStorage.getItem("imgedit.session"),
  session: null, imageId: null, ws: null, jobs: new Map(), blobs: new Map(), activeJob: null, deckJob: null,
  themes: [], conn: "offline", batch: null };
/** Error codes that mean "not like that": shown as a refusal with suggestions, not as a failure. */
const REFUSALS = new Set(["needs_clarification", "unsupported_operation", "edit_area_exceeded", "unsafe_content",
  "bad_input", "not_found"]);

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.key}`, ...(options.headers || {}) };
  let body = options.body;
  if (body && !(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
  const response = await fetch(path, { ...options, headers, body });
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const err = new Error(data?.message || response.statusText);
    Object.assign(err, { code: data?.code, status: response.status, hint: data?.hint, suggestions: data?.suggestions });
    throw err;
  }
  return data;
}

/** The bytes at ``path`` (with the key), as they were served. */
async function fetchBlob(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${state.key}` } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.blob();
}

async function imageUrl(path) {
  if (!state.blobs.has(path)) state.blobs.set(path, fetchBlob(path).then((b) => URL.createObjectURL(b)));
  return state.blobs.get(path);
}

function bubble(role, text, image) {
  const li = document.createElement("li");
  li.className = role;
  li.textContent = text;
  if (image) {
    const img = document.createElement("img");
    img.alt = role === "user" ? "" : t("after");  // the bubble's text says what it is
    imageUrl(image).then((u) => { img.src = u; });
    li.append(img);
  }
  return li;
}

function say(role, text, image) {
  const li = bubble(role, text, image);
  $("#chat").append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

/** A refusal: what was wrong, then each suggestion as a chip that sends it. The hint is left out
 * when there are chips: it only says to try them. */
function refuse({ message, hint, suggestions }) {
  const list = typeof suggestions === "string" ? suggestions.split(/;\s*/) : suggestions || [];
  const li = document.createElement("li");
  li.className = "refusal";
  const title = document.createElement("strong");
  title.textContent = t("refused");
  const text = document.createElement("p");
  text.textContent = message;
  li.append(title, text);
  if (hint && !list.length) { const p = document.createElement("p"); p.className = "hint"; p.textContent = hint; li.append(p); }
  if (list.length) {
    const label = document.createElement("p");
    label.textContent = t("tryThese");
    const chips = document.createElement("div");
    chips.className = "chips";
    for (const suggestion of list.filter(Boolean)) {
      const chip = document.createElement("button");
      chip.type = "button"; chip.className = "chip"; chip.textContent = suggestion;
      chip.onclick = () => send(suggestion);
      chips.append(chip);
    }
    li.append(label, chips);
  }
  $("#chat").append(li);
  li.scrollIntoView({ block: "end" });
}

function showFailure(err) {
  if (REFUSALS.has(err.code)) refuse(err); else say("error", err.message);
}

// -- connection ---------------------------------------------------------------------------

function setConn(status) {
  state.conn = status;
  $("#conn").textContent = t(status);
  $("#conn").className = status === "connected" ? "badge" : "badge off";
}

async function connect() {
  if (!state.key) { setConn("noKey"); return; }
  try {
    await api("/v1/sessions");
  } catch (err) { setConn(err.status === 401 ? "badKey" : "offline"); return; }
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
    setConn("offline");
    if (state.ws === ws) setTimeout(openSocket, 2000);  // reconnect, then ask for job states
  };
}

/** Send a frame if the socket is open (after a reconnect, the "ready" handler catches up). */
function sendFrame(frame) {
  if (state.ws?.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

function onFrame(frame) {
  if (frame.type === "ready") {
    setConn("connected");
    // The server sends only the events of followed jobs and joined sessions: (re)follow ours.
    if (state.sessionId) sendFrame({ type: "join", session_id: state.sessionId });
    for (const jobId of state.jobs.keys()) sendFrame({ type: "subscribe", job_id: jobId });
    sendFrame({ type: "jobs" });
  } else if (frame.type === "progress") {
    if (frame.job_id === state.activeJob) showProgress(frame.done, frame.total, "running");
    if (frame.job_id === state.deckJob) showFormProgress("deck", frame.done, frame.total, "restylingProgress");
    if (frame.job_id === state.batch?.jobId) showFormProgress("batch", frame.done, frame.total, "batchEditing");
  } else if (frame.type === "job") {
    onJob(frame);
  } else if (frame.type === "jobs") {
    for (const job of frame.jobs) if (state.jobs.has(job.job_id)) onJob(job);
  }
}

const FINISHED = ["done", "failed", "cancelled"];

function onJob(frame) {
  const waiter = state.jobs.get(frame.job_id);
  // A job of this session that someone (this tab, another tab) started: follow its progress.
  if (!state.activeJob && frame.session_id === state.sessionId && ["queued", "running"].includes(frame.status)) {
    state.activeJob = frame.job_id;
  }
  if (frame.job_id === state.activeJob && !waiter && FINISHED.includes(frame.status)) {
    state.activeJob = null; $("#progress").hidden = true; return;
  }
  if (frame.job_id === state.activeJob) showProgress(frame.done, frame.total, frame.status);
  if (!waiter || !FINISHED.includes(frame.status)) return;
  state.jobs.delete(frame.job_id);
  if (frame.job_id === state.activeJob) { state.activeJob = null; $("#progress").hidden = true; }
  waiter(frame);
}

function waitForJob(jobId) {
  state.activeJob = jobId;
  showProgress(0, 0, "queued");
  return followJob(jobId);
}

/** The job's final frame, once it is over (progress frames go to the handlers in onFrame). */
function followJob(jobId) {
  return new Promise((resolve) => {
    state.jobs.set(jobId, resolve);
    // Subscribing answers the job's current state at once, so a job already over is not missed.
    sendFrame({ type: "subscribe", job_id: jobId });
  });
}

function showProgress(done, total, status) {
  $("#progress").hidden = false;
  $("#progress-fill").style.width = total ? `${Math.round((100 * done) / total)}%` : status === "done" ? "100%" : "4%";
  const word = t("status")[status] || status;
  $("#progress-text").textContent = total ? `${word} ${done}/${total}` : word;
}

// -- session and images -------------------------------------------------------------------

let ensuring = null;

/**
 * Make sure the page has a session (the remembered one, or a new one). Calls made while one is
 * under way share it, so a file dropped before the page has finished connecting waits for the
 * session instead of being sent to no session, and no second session is made.
 */
function ensureSession(fresh = false) {
  if (!ensuring) ensuring = openSession(fresh).finally(() => { ensuring = null; });
  return ensuring;
}

async function openSession(fresh) {
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
    if (state.session.messages_before) earlierButton(state.session.messages_before);
  }
  await render();
}

/** A long conversation opens at its last messages; this button, above them, brings the older
 * ones a page at a time (GET /v1/sessions/{id}/messages?before=…). */
function earlierButton(before) {
  const li = document.createElement("li");
  li.className = "earlier";
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.i18n = "earlierMessages";
  button.textContent = t("earlierMessages");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const page = await api(`/v1/sessions/${state.sessionId}/messages?before=${before}`);
      for (const m of page.messages) li.before(bubble(m.role === "user" ? "user" : "bot", m.text));
      if (page.messages_before) earlierButton(page.messages_before);
      li.remove();
    } catch (err) {
      button.disabled = false;
      say("error", err.message);
    }
  });
  li.append(button);
  $("#chat").prepend(li);
}

function currentImage() { return state.session?.images.find((i) => i.id === state.imageId) || null; }

function headVersion(image) { return image?.versions.find((v) => v.id === image.head_version_id) || null; }

async function render() {
  const image = currentImage();
  const compare = $("#compare");
  const head = headVersion(image);
  const parent = head && image.versions.find((v) => v.id === head.parent_id);
  $("#undo").disabled = !parent; $("#redo").disabled = !image || !image.can_redo;
  $("#download").disabled = !head; $("#download-menu").classList.toggle("disabled", !head);
  $("#slider-row").hidden = !parent;
  if (!image) { compare.className = "empty"; $("#version-label").textContent = ""; $("#timeline").replaceChildren(); return; }
  $("#version-label").textContent = t("versionLabel", image.position, head.number, image.versions.length - 1);
  $("#after-img").src = await imageUrl(head.image_url);
  $("#after-img").alt = parent ? t("after") : t("versionName", head.number);
  if (parent) {
    $("#before-img").src = await imageUrl(parent.image_url);
    $("#before-img").alt = t("before");
    compare.className = "has-before";
  } else {
    $("#before-img").src = $("#after-img").src; $("#before-img").alt = ""; compare.className = "";
  }
  renderTree(image, head);
}

/**
 * The versions as a tree, in rows: a version's first child continues its row, every other child
 * (an edit made after an undo) starts a new row, one column to the right of its parent, with a
 * connector up to the parent. So "v1 undone, then v2" shows v2 on its own branch from the original.
 */
function renderTree(image, head) {
  const children = new Map();
  for (const v of image.versions) {
    if (!children.has(v.parent_id)) children.set(v.parent_id, []);
    children.get(v.parent_id).push(v);
  }
  for (const list of children.values()) list.sort((a, b) => a.number - b.number);
  const byId = new Map(image.versions.map((v) => [v.id, v]));
  const cells = [];
  let rows = 0;
  const place = (v, depth, row, parentRow) => {
    cells.push({ v, depth, row, up: row - parentRow });
    (children.get(v.id) || []).forEach((child, i) => place(child, depth + 1, i === 0 ? row : ++rows, row));
  };
  for (const root of children.get(null) || []) place(root, 0, rows, rows);
  const timeline = $("#timeline");
  timeline.replaceChildren();
  for (const { v, depth, row, up } of cells) {
    const li = document.createElement("li");
    li.style.gridColumn = String(depth + 1);
    li.style.gridRow = String(row + 1);
    li.style.setProperty("--up", String(up));
    li.className = [v.id === head.id ? "head" : "", depth ? "child" : "", up ? "branch" : ""].join(" ").trim();
    li.dataset.versionId = v.id;
    const button = document.createElement("button");
    button.type = "button";
    const parent = byId.get(v.parent_id);
    const name = t("versionName", v.number);
    const parts = [name];
    if (up) parts.push(t("branchFrom", t("versionName", parent.number)));
    if (v.instruction) parts.push(v.instruction);
    if (v.id === head.id) { parts.push(t("current")); button.setAttribute("aria-current", "true"); }
    button.setAttribute("aria-label", parts.join(", "));
    button.title = v.instruction || t("original");
    const img = document.createElement("img");
    img.alt = "";
    imageUrl(`${v.image_url}?max_side=192`).then((u) => { img.src = u; });
    const label = document.createElement("span");
    label.textContent = v.number === 0 ? t("original") : t("version", v.number);
    button.append(img, label);
    button.onclick = () => act("revert", { version_id: v.id });
    li.append(button);
    timeline.append(li);
  }
}

async function upload(file) {
  if (!file) return;
  hint("");
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    if (!state.sessionId) await ensureSession();
    const added = await api(`/v1/sessions/${state.sessionId}/images`, { method: "POST", body: form });
    state.imageId = added.image_id;
    await refresh();
    say("user", t("uploaded", file.name), `/v1/versions/${added.version_id}/image?max_side=480`);
  } catch (err) { showFailure(err); }
}

/** Feedback next to the message box (an empty message); "" clears it. */
function hint(text) {
  $("#message-hint").textContent = text;
  $("#message").toggleAttribute("aria-invalid", Boolean(text));
  if (text) $("#message").focus();
}

async function send(text) {
  if (!text.trim()) { hint(t("emptyMessage")); return; }
  hint("");
  say("user", text);
  try {
    if (!state.sessionId) await ensureSession();
    const image = currentImage();
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
    if (reply.refusal) refuse(reply.refusal);
    else say("bot", reply.reply || t("done", text), reply.version_id ? `/v1/versions/${reply.version_id}/image?max_side=480` : null);
  } catch (err) { showFailure(err); }
}

async function directEdit(instruction, image) {
  if (!image) throw Object.assign(new Error(t("noImageYet")), { code: "bad_input" });
  const job = await api(`/v1/sessions/${state.sessionId}/edits`, { method: "POST", body: { instruction, image_id: image.id } });
  const done = await waitForJob(job.job_id);
  if (done.status !== "done") {
    const error = done.error || {};
    throw Object.assign(new Error(error.message || t("editWas", done.status)), error);
  }
  return { reply: t("done", instruction), image_id: image.id, version_id: done.version_id };
}

async function act(action, body = {}) {
  const image = currentImage();
  if (!image) return;
  try {
    await api(`/v1/sessions/${state.sessionId}/${action}`, { method: "POST", body: { image_id: image.id, ...body } });
    await refresh();
  } catch (err) { showFailure(err); }
}

// -- downloads ----------------------------------------------------------------------------

const EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "application/json": "json" };

/** Save ``blob`` as ``name`` through a temporary link. */
function saveAs(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** The current version's image (its stored bytes) or its audit record, named after the upload. */
async function download(what) {
  const image = currentImage();
  const head = headVersion(image);
  if (!head) return;
  $("#download-menu").open = false;
  try {
    const blob = await fetchBlob(what === "audit" ? `/v1/versions/${head.id}` : head.image_url);
    const stem = (image.name || `image-${image.position}`).replace(/\.[^.]+$/, "");
    const ext = EXTENSIONS[blob.type.split(";")[0]] || "bin";
    saveAs(blob, `${stem}-v${head.number}${what === "audit" ? "-audit" : ""}.${ext}`);
  } catch (err) { say("error", err.message); }
}

// -- themes and decks ---------------------------------------------------------------------

async function loadThemes() {
  try {
    state.themes = (await api("/v1/themes")).themes;
    renderThemes();
  } catch (err) { $("#themes").textContent = err.message; }
}

/** Theme buttons in the page's language; each sends its instruction in that language too. */
function renderThemes() {
  const box = $("#themes"); const selects = [$("#deck-theme"), $("#batch-theme")];
  const chosen = selects.map((select) => select.value);
  box.replaceChildren();
  for (const select of selects) select.replaceChildren();
  for (const theme of state.themes) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = t("themeLabel", theme); b.title = theme.description;
    b.dataset.theme = theme.name;
    b.onclick = () => send(t("themeInstruction", theme));
    box.append(b);
    for (const select of selects) select.append(new Option(t("themeLabel", theme), theme.name));
  }
  selects.forEach((select, i) => { if (chosen[i]) select.value = chosen[i]; });
}

/**
 * The request body of the deck or batch form (``name``): its file, and its instruction if one is
 * written, else its theme; ``null`` (and the status says ``missing``) when no file was chosen.
 */
function fileForm(name, missing) {
  const file = $(`#${name}-file`).files[0];
  const status = $(`#${name}-status`);
  status.className = "";
  if (!file) { status.textContent = t(missing); return null; }
  const prompt = $(`#${name}-prompt`).value.trim();
  const form = new FormData();
  form.append("file", file, file.name);
  form.append(prompt ? "prompt" : "theme", prompt || $(`#${name}-theme`).value);
  return { form, prompt, status };
}

/** The deck or batch form's progress bar and line (``words`` says it, given done and total). */
function showFormProgress(name, done, total, words) {
  $(`#${name}-progress`).hidden = false;
  $(`#${name}-progress-fill`).style.width = total ? `${Math.round((100 * done) / total)}%` : "4%";
  if (total) $(`#${name}-status`).textContent = t(words, done, total);
}

async function restyleDeck(event) {
  event.preventDefault();
  const request = fileForm("deck", "chooseDeck");
  if (!request) return;
  const { form, prompt, status } = request;
  if (!prompt && $("#deck-theme-colors").checked) form.append("theme_colors", "true");
  if ($("#deck-pictures").value) form.append("pictures", $("#deck-pictures").value);
  try {
    status.textContent = t("uploading");
    const job = await api("/v1/decks", { method: "POST", body: form });
    state.deckJob = job.job_id;
    showFormProgress("deck", 0, 0);
    status.textContent = t("restyling");
    const done = await followJob(job.job_id);
    if (done.status !== "done") throw new Error(done.error?.message || t("restyleWas", done.status));
    const { link, result } = await resultLink(done, "restyled.pptx");
    // The report's own sentence, in the language of the theme or instruction.
    status.replaceChildren(link, ` · ${result?.report?.summary_text || ""}`);
  } catch (err) { status.textContent = err.message; status.className = "bad"; }
  finally { state.deckJob = null; $("#deck-progress").hidden = true; }
}

/** A download link for a finished job's result (fetched with the key), named as the server names
 * it; and the job's ``result``. */
async function resultLink(done, fallback) {
  const info = await api(`/v1/jobs/${done.job_id}`);
  const link = document.createElement("a");
  link.href = await imageUrl(done.result_url);
  link.download = info.result?.filename || fallback;
  link.textContent = t("downloadFile", link.download);
  return { link, result: info.result };
}

// -- batches: upload a zip, follow its pictures, review each, build the zip ----------------

/**
 * A batch kept for review: ``items`` as the server last showed them (by index) and the
 * person's ``decisions`` (index -> "approve" | "reject"), which survive a picture's redo.
 */
async function startBatch(event) {
  event.preventDefault();
  const request = fileForm("batch", "chooseZip");
  if (!request) return;
  const { form, status } = request;
  form.append("review", "true");
  $("#batch-review").hidden = true; $("#batch-result").replaceChildren();
  try {
    status.textContent = t("uploading");
    const job = await api("/v1/batches", { method: "POST", body: form });
    state.batch = { jobId: job.job_id, items: new Map(), decisions: new Map(), review: null };
    showFormProgress("batch", 0, 0);
    const done = await followJob(job.job_id);
    if (done.status !== "done") throw new Error(done.error?.message || t("batchWas", done.status));
    await loadBatch();
    status.textContent = t("batchReady", state.batch.items.size);
  } catch (err) { status.textContent = err.message; status.className = "bad"; }
  finally { $("#batch-progress").hidden = true; }
}

/** The batch's pictures from the server, drawn as the review grid. */
async function loadBatch() {
  const batch = await api(`/v1/batches/${state.batch.jobId}`);
  state.batch.items = new Map(batch.items.map((item) => [item.index, item]));
  const grid = $("#batch-grid");
  grid.replaceChildren(...batch.items.map((item) => {
    const li = document.createElement("li");
    li.dataset.index = String(item.index);
    return li;
  }));
  for (const item of batch.items) renderItem(item);
  $("#batch-review").hidden = false;
  $("#batch-build").disabled = false;
}

function thumb(url, alt) {
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = alt.label;
  if (url) {
    const img = document.createElement("img");
    img.alt = alt.text;
    imageUrl(`${url}?max_side=240`).then((u) => { img.src = u; });
    figure.append(img);
  } else {
    const none = document.createElement("span");
    none.className = "none"; none.textContent = t("noAfter");
    figure.append(none);
  }
  figure.append(caption);
  return figure;
}

/** One picture's card: before and after, its status, approve / reject, and a redo form. */
function renderItem(item) {
  state.batch.items.set(item.index, item);
  const li = $(`#batch-grid li[data-index="${item.index}"]`);
  const decision = state.batch.decisions.get(item.index) || (item.after_url ? "approve" : "reject");
  const pictures = document.createElement("div");
  pictures.className = "pair";
  pictures.append(thumb(item.before_url, { label: t("before"), text: t("beforeOf", item.output) }),
    thumb(item.after_url, { label: t("after"), text: t("afterOf", item.output) }));
  const title = document.createElement("p");
  title.className = "name"; title.textContent = item.output;
  const status = document.createElement("p");
  status.className = `item-status ${item.status}`;
  status.textContent = [t("itemStatus")[item.status] || item.status, item.instruction, item.reason].filter(Boolean).join(" · ");

  const choice = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.className = "visually-hidden"; legend.textContent = t("decisionFor", item.output);
  choice.append(legend);
  for (const value of ["approve", "reject"]) {
    const label = document.createElement("label");
    const radio = document.createElement("input");
    radio.type = "radio"; radio.name = `decision-${item.index}`; radio.value = value;
    radio.checked = decision === value;
    radio.disabled = (value === "approve" && !item.after_url) || item.status === "redoing" || Boolean(state.batch.review);
    radio.onchange = () => state.batch.decisions.set(item.index, value);
    label.append(radio, ` ${t(value)}`);
    choice.append(label);
  }

  const redo = document.createElement("form");
  redo.className = "row redo";
  const input = document.createElement("input");
  input.type = "text"; input.maxLength = 2000; input.placeholder = t("redoPlaceholder");
  input.setAttribute("aria-label", t("redoLabel", item.output));
  const button = document.createElement("button");
  button.type = "submit"; button.textContent = t("redo");
  button.disabled = item.status === "redoing" || Boolean(state.batch.review);
  redo.append(input, button);
  redo.onsubmit = (e) => { e.preventDefault(); redoItem(item, input.value.trim(), status); };
  li.replaceChildren(pictures, title, status, choice, redo);
}

async function redoItem(item, instruction, status) {
  if (!instruction) { status.textContent = t("emptyMessage"); return; }
  try {
    const redone = await api(`/v1/batches/${state.batch.jobId}/items/${item.index}/redo`,
      { method: "POST", body: { instruction } });
    state.batch.decisions.delete(item.index);  // a new edit: decided afresh (approved by default)
    renderItem(redone);
    await followJob(redone.redo_job_id);
    const batch = await api(`/v1/batches/${state.batch.jobId}`);
    renderItem(batch.items.find((each) => each.index === item.index));
  } catch (err) { status.textContent = err.message; status.className = "item-status failed"; }
}

/** The built zip's link and what went into it, in the page's language. */
function renderReview() {
  const { link, result } = state.batch.review;
  link.textContent = t("downloadFile", link.download);
  $("#batch-result").replaceChildren(link, ` · ${t("reviewSummary", result?.summary || {})}`);
}

/** Send the decisions; the server builds the zip as a job, offered as a download when done. */
async function buildZip() {
  const result = $("#batch-result");
  const decisions = [...state.batch.items.values()].map((item) => ({ item: item.index,
    decision: state.batch.decisions.get(item.index) || (item.after_url ? "approve" : "reject") }));
  $("#batch-build").disabled = true;
  result.className = ""; result.textContent = t("building");
  try {
    const job = await api(`/v1/batches/${state.batch.jobId}/review`, { method: "POST", body: { decisions } });
    const done = await followJob(job.job_id);
    if (done.status !== "done") throw new Error(done.error?.message || t("reviewWas", done.status));
    state.batch.review = await resultLink(done, "edited.zip");
    for (const item of state.batch.items.values()) renderItem(item);  // decided: no more changes
    renderReview();
  } catch (err) { result.textContent = err.message; result.className = "bad"; $("#batch-build").disabled = false; }
}

// -- wiring -------------------------------------------------------------------------------

/** Words that depend on state (connection, versions, themes) follow a language switch too. */
function relabel() {
  i18n.apply();
  setConn(state.conn);
  renderThemes();
  render();
  if (state.batch?.items.size) for (const item of state.batch.items.values()) renderItem(item);
  if (state.batch?.review) renderReview();
}

document.addEventListener("DOMContentLoaded", () => {
  i18n.apply();
  setConn("offline");
  $("#api-key").value = state.key;
  $("#lang").onclick = () => { i18n.set(i18n.lang === "zh" ? "en" : "zh"); relabel(); };
  $("#key-form").onsubmit = (e) => { e.preventDefault(); state.key = $("#api-key").value.trim();
    localStorage.setItem("imgedit.key", state.key); connect(); };
  $("#new-session").onclick = () => ensureSession(true);
  $("#composer").onsubmit = (e) => { e.preventDefault(); const text = $("#message").value; $("#message").value = ""; send(text); };
  $("#message").oninput = () => { if ($("#message").value.trim()) hint(""); };
  $("#file-input").onchange = (e) => upload(e.target.files[0]);
  const drop = $("#drop");
  // The file pickers are labels (their text follows the page's language): keys open them too.
  for (const [label, input] of [["#drop", "#file-input"], ["#deck-pick", "#deck-file"], ["#batch-pick", "#batch-file"]]) {
    $(label).onkeydown = (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $(input).click(); } };
  }
  $("#deck-file").onchange = (e) => { $("#deck-file-name").textContent = e.target.files[0]?.name || ""; };
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove("over"); upload(e.dataTransfer.files[0]); };
  $("#undo").onclick = () => act("undo");
  $("#redo").onclick = () => act("redo");
  $("#download").onclick = () => download("image");
  $("#download-image").onclick = () => download("image");
  $("#download-audit").onclick = () => download("audit");
  $("#slider").oninput = (e) => $("#compare").style.setProperty("--cut", `${e.target.value}%`);
  $("#cancel-job").onclick = () => state.activeJob && api(`/v1/jobs/${state.activeJob}`, { method: "DELETE" });
  $("#deck-form").onsubmit = restyleDeck;
  $("#deck-cancel").onclick = () => state.deckJob && api(`/v1/jobs/${state.deckJob}`, { method: "DELETE" });
  $("#batch-file").onchange = (e) => { $("#batch-file-name").textContent = e.target.files[0]?.name || ""; };
  $("#batch-form").onsubmit = startBatch;
  $("#batch-cancel").onclick = () => state.batch && api(`/v1/jobs/${state.batch.jobId}`, { method: "DELETE" });
  $("#batch-build").onclick = buildZip;
  connect();
});
