/*
 * A stand-in for Figma's plugin sandbox in a browser page, for the panel tests and the README
 * screenshot: it defines the `figma` global over a small document, opens the panel (ui.html)
 * in an iframe sandboxed like Figma's (scripts only, so its origin is "null"), and relays
 * messages both ways as Figma does. code.js then runs in this page unchanged.
 *
 * Expects `window.STANDIN_DOC = {images: {hash: base64}, nodes: [tree]}` and `window.__html__`.
 */
"use strict";

(function () {
  const doc = window.STANDIN_DOC;
  const images = new Map();
  const nodes = new Map();
  const storage = new Map();
  const log = [];
  let created = 0;

  function fromBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function toBase64(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary);
  }

  function deepFreeze(value) {
    if (value && typeof value === "object" && !Object.isFrozen(value)) {
      Object.freeze(value);
      Object.keys(value).forEach((key) => deepFreeze(value[key]));
    }
    return value;
  }

  function build(spec) {
    const node = { id: spec.id, name: spec.name, type: spec.type || "RECTANGLE" };
    let fills = deepFreeze((spec.fills || []).slice());
    Object.defineProperty(node, "fills", {
      get: () => fills,
      set: (value) => {
        log.push(["setFills", spec.id]);
        fills = deepFreeze(value.slice());
      },
    });
    if (spec.children) node.children = Object.freeze(spec.children.map(build));
    nodes.set(node.id, node);
    return node;
  }

  for (const [hash, data] of Object.entries(doc.images)) images.set(hash, fromBase64(data));
  const roots = doc.nodes.map(build);

  let frame = null;
  let frameReady = false;
  const pending = [];

  const figma = {
    currentPage: { selection: roots },
    getImageByHash(hash) {
      return images.has(hash) ? { hash, getBytesAsync: async () => images.get(hash).slice() } : null;
    },
    createImage(bytes) {
      const hash = "created-" + ++created;
      images.set(hash, bytes.slice());
      log.push(["createImage", hash]);
      return { hash, getBytesAsync: async () => images.get(hash).slice() };
    },
    async getNodeByIdAsync(id) {
      return nodes.get(id) || null;
    },
    commitUndo() {
      log.push(["commitUndo"]);
    },
    notify(text) {
      log.push(["notify", text]);
    },
    clientStorage: {
      async getAsync(key) {
        return storage.get(key);
      },
      async setAsync(key, value) {
        storage.set(key, value);
      },
    },
    showUI(html, options) {
      frame = document.createElement("iframe");
      frame.id = "plugin-ui";
      frame.setAttribute("sandbox", "allow-scripts");
      frame.style.width = options.width + "px";
      frame.style.height = options.height + "px";
      frame.style.border = "1px solid #e5e5e5";
      frame.addEventListener("load", () => {
        frameReady = true;
        pending.splice(0).forEach((msg) => frame.contentWindow.postMessage({ pluginMessage: msg }, "*"));
      });
      frame.srcdoc = html;
      document.body.append(frame);
    },
    ui: {
      onmessage: null,
      postMessage(msg) {
        if (frameReady) frame.contentWindow.postMessage({ pluginMessage: msg }, "*");
        else pending.push(msg);
      },
    },
    on() {},
  };

  window.addEventListener("message", (event) => {
    if (frame && event.source === frame.contentWindow && event.data && event.data.pluginMessage) {
      figma.ui.onmessage(event.data.pluginMessage);
    }
  });

  window.figma = figma;
  /** What the test reads back: each node's fills, images as base64, and the undo/fills log. */
  window.standin = {
    log,
    fills: (id) => JSON.parse(JSON.stringify(nodes.get(id).fills)),
    image: (hash) => (images.has(hash) ? toBase64(images.get(hash)) : null),
  };
})();
