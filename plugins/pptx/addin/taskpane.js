// imgedit task pane for PowerPoint: send the open deck to the imgedit service, follow the restyle
// over the /v1/ws WebSocket, and offer the restyled deck.
//
// The deck is read with Office.js the only way an add-in can read the whole file:
// getFileAsync(Compressed) gives the .pptx in slices (at most 4 MB each), read one at a time and
// then closed (a document allows one open file at a time). Bytes go over HTTP; the socket carries
// only progress. An add-in cannot replace the open file, so the result is a download, or its
// slides can be inserted into this deck where PowerPointApi 1.2 is available.
"use strict";

const SLICE_SIZE = 4 * 1024 * 1024;
const STORE = { service: "imgedit.addin.service", key: "imgedit.addin.key" };
const $ = (id) => document.getElementById(id);
const state = { themes: [], job: null, socket: null, resultBase64: null, resultUrl: null };

// -- small helpers -------------------------------------------------------------------------------

function serviceUrl() {
  return $("service").value.trim().replace(/\/+$/, "");
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${$("api-key").value.trim()}`, ...(options.headers || {}) };
  let response;
  try {
    response = await fetch(serviceUrl() + path, { ...options, headers });
  } catch (err) {
    throw new Error(`Cannot reach the service at ${serviceUrl() || "(no address)"}: ${err.message}`);
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    const message = body?.message || `${response.status} ${response.statusText}`;
    throw new Error(body?.hint ? `${message} ${body.hint}` : message);
  }
  return response;
}

function setConnected(ok, text) {
  $("conn").textContent = text;
  $("conn").className = ok ? "badge" : "badge off";
  $("restyle").disabled = !ok;
}

function showProgress(done, total, text) {
  $("progress").hidden = false;
  const percent = total ? Math.round((100 * done) / total) : 0;
  $("progress-fill").style.width = `${total ? Math.max(percent, 3) : 3}%`;
  $("progress").querySelector(".bar").setAttribute("aria-valuenow", String(percent));
  $("progress-text").textContent = text || `Restyling pictures: ${done} of ${total}`;
  $("cancel").hidden = !state.job;
}

// -- connecting and themes -----------------------------------------------------------------------

async function connect() {
  showError("");
  localStorage.setItem(STORE.service, serviceUrl());
  localStorage.setItem(STORE.key, $("api-key").value.trim());
  if (!serviceUrl() || !$("api-key").value.trim()) {
    setConnected(false, "not connected");
    return;
  }
  try {
    const { themes } = await (await api("/v1/themes")).json();
    state.themes = themes;
    const select = $("theme");
    select.replaceChildren(...themes.map((t) => new Option(`${t.name_en} · ${t.name_zh}`, t.name)));
    describeTheme();
    setConnected(true, "connected");
    $("connection").open = false;
  } catch (err) {
    setConnected(false, "not connected");
    showError(err.message);
  }
}

function describeTheme() {
  const theme = state.themes.find((t) => t.name === $("theme").value);
  $("theme-description").textContent = theme ? theme.description : "";
}

function mode() {
  return document.querySelector("input[name=mode]:checked").value;
}

function onModeChange() {
  const byTheme = mode() === "theme";
  $("theme").hidden = !byTheme;
  $("theme-description").hidden = !byTheme;
  $("prompt").hidden = byTheme;
  $("theme-colors-choice").hidden = !byTheme;  // a scheme is recoloured with a theme only
}

// -- reading the open deck -----------------------------------------------------------------------

function officeCall(fn) {
  return new Promise((resolve, reject) => {
    fn((result) => {
      if (result.status === Office.AsyncResultStatus.Succeeded) resolve(result.value);
      else reject(new Error(result.error ? result.error.message : "PowerPoint refused the request."));
    });
  });
}

/** The open deck as .pptx bytes, read slice by slice and always closed afterwards. */
async function readDeck() {
  const file = await officeCall((done) =>
    Office.context.document.getFileAsync(Office.FileType.Compressed, { sliceSize: SLICE_SIZE }, done));
  try {
    const slices = [];
    let size = 0;
    for (let index = 0; index < file.sliceCount; index++) {
      const slice = await officeCall((done) => file.getSliceAsync(index, done));
      const bytes = new Uint8Array(slice.data);  // an array of byte values, or a typed array
      slices.push(bytes);
      size += bytes.length;
      showProgress(0, 0, `Reading the deck: ${index + 1} of ${file.sliceCount} parts`);
    }
    const deck = new Uint8Array(size);
    let offset = 0;
    for (const bytes of slices) { deck.set(bytes, offset); offset += bytes.length; }
    return deck;
  } finally {
    await officeCall((done) => file.closeAsync(done)).catch(() => {});
  }
}

function deckName() {
  const url = Office.context.document.url || "";
  const base = decodeURIComponent(url.split(/[\\/]/).pop() || "").replace(/\?.*$/, "");
  return /\.pptx$/i.test(base) ? base : "presentation.pptx";
}

// -- following the job ---------------------------------------------------------------------------

/** A socket that is authenticated and ready before the deck is sent, so no frame is missed.
 * The key goes in the first frame, never in the URL: URLs end up in access logs and proxies. */
function openSocket() {
  const url = `${serviceUrl().replace(/^http/, "ws")}/v1/ws`;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: $("api-key").value.trim() }));
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "ready") resolve(socket);
      else if (frame.type === "error") reject(new Error(`${frame.message} (check the API key)`));
    };
    socket.onerror = () => reject(new Error("The service refused the WebSocket (check the API key)."));
  });
}

function followJob(socket, jobId) {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (job) => {
      if (finished) return;
      finished = true;
      clearInterval(poll);
      resolve(job);
    };
    // The state answered to subscribe may repeat a progress frame: never move the bar back.
    let shown = -1;
    const step = (done, total) => {
      if (!total || done < shown) return;
      shown = done;
      showProgress(done, total);
    };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.job_id !== jobId) return;
      if (frame.type === "progress") step(frame.done, frame.total);
      else if (frame.type === "job" && ["done", "failed", "cancelled"].includes(frame.status)) finish(frame);
      else if (frame.type === "job") step(frame.done, frame.total);
    };
    // The service sends a job's events only to sockets that follow it. Subscribing answers the
    // job's current state (and progress) at once, so frames sent before it, or a job already over,
    // are not missed.
    socket.send(JSON.stringify({ type: "subscribe", job_id: jobId }));
    // If the socket drops (proxies, sleep), keep following the job over HTTP.
    const poll = setInterval(async () => {
      if (socket.readyState === WebSocket.OPEN) return;
      try {
        const job = await (await api(`/v1/jobs/${jobId}`)).json();
        if (["done", "failed", "cancelled"].includes(job.status)) finish(job);
        else step(job.progress.done, job.progress.total);
      } catch (_) { /* try again on the next tick */ }
    }, 2000);
  });
}

async function restyle(event) {
  event.preventDefault();
  showError("");
  $("result").hidden = true;
  const form = new FormData();
  if ($("pictures").value) form.append("pictures", $("pictures").value);
  if (mode() === "theme") {
    form.append("theme", $("theme").value);
    if ($("theme-colors").checked) form.append("theme_colors", "true");
  } else {
    const prompt = $("prompt").value.trim();
    if (!prompt) { showError("Write an instruction first, e.g. “make it warmer”."); return; }
    form.append("prompt", prompt);
  }
  $("restyle").disabled = true;
  let socket = null;
  try {
    showProgress(0, 0, "Reading the deck…");
    const deck = await readDeck();
    const name = deckName();
    form.append("file", new Blob([deck], { type: "application/vnd.openxmlformats-officedocument.presentationml.presentation" }), name);
    socket = await openSocket();
    showProgress(0, 0, "Uploading…");
    const created = await (await api("/v1/decks", { method: "POST", body: form })).json();
    state.job = created.job_id;
    showProgress(0, 0, "Waiting for a worker…");
    const final = await followJob(socket, created.job_id);
    state.job = null;
    if (final.status !== "done") {
      throw new Error(final.status === "cancelled" ? "Cancelled." : final.error?.message || `The restyle ${final.status}.`);
    }
    await offerResult(created.job_id);
  } catch (err) {
    $("progress").hidden = true;
    showError(err.message);
  } finally {
    if (socket) socket.close();
    state.job = null;
    $("restyle").disabled = false;
  }
}

async function offerResult(jobId) {
  const job = await (await api(`/v1/jobs/${jobId}`)).json();
  const blob = await (await api(`/v1/jobs/${jobId}/result`)).blob();
  showProgress(1, 1, `Done in ${(job.seconds || 0).toFixed(1)} s`);
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.resultUrl = URL.createObjectURL(blob);
  const link = $("download");
  link.href = state.resultUrl;
  link.download = job.result?.filename || "restyled.pptx";
  // The report's own sentence ("14 pictures restyled, 3 logos and charts kept, 1 vector kept"),
  // in the language the theme or instruction was written in.
  $("result-text").textContent = `${job.result?.report?.summary_text || "Restyled"}: ${link.download}`;
  state.resultBase64 = await blobToBase64(blob);
  $("insert").hidden = !canInsertSlides();
  $("result").hidden = false;
}

function blobToBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function canInsertSlides() {
  return typeof PowerPoint !== "undefined" &&
    Office.context.requirements?.isSetSupported?.("PowerPointApi", "1.2");
}

async function insertSlides() {
  showError("");
  try {
    await PowerPoint.run(async (context) => {
      context.presentation.insertSlidesFromBase64(state.resultBase64, { formatting: "KeepSourceFormatting" });
      await context.sync();
    });
    $("result-text").textContent = "The restyled slides were inserted into this deck.";
  } catch (err) {
    showError(`PowerPoint could not insert the slides: ${err.message}`);
  }
}

async function cancel() {
  if (!state.job) return;
  try { await api(`/v1/jobs/${state.job}`, { method: "DELETE" }); } catch (err) { showError(err.message); }
}

// -- wiring --------------------------------------------------------------------------------------

function start() {
  const servedByService = /^https?:$/.test(location.protocol);
  $("service").value = localStorage.getItem(STORE.service) || (servedByService ? location.origin : "");
  $("api-key").value = localStorage.getItem(STORE.key) || "";
  $("connect-form").onsubmit = (e) => { e.preventDefault(); connect(); };
  $("restyle-form").onsubmit = restyle;
  $("theme").onchange = describeTheme;
  for (const radio of document.querySelectorAll("input[name=mode]")) radio.onchange = onModeChange;
  $("cancel").onclick = cancel;
  $("insert").onclick = insertSlides;
  onModeChange();
  connect();
}

if (typeof Office === "undefined") {
  document.addEventListener("DOMContentLoaded", () =>
    showError("Office.js did not load: open this pane from PowerPoint (Home > Restyle pictures)."));
} else {
  Office.onReady(() => (document.readyState === "loading"
    ? document.addEventListener("DOMContentLoaded", start) : start()));
}
