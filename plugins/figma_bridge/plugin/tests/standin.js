/*
 * Test helpers: a real PNG encoder/decoder (Node's zlib) and a stand-in for Figma's `figma`
 * global that behaves like the real one where code.js depends on it: fills arrays and paints
 * are frozen, images are stored by content hash, createImage refuses non-images and anything
 * over 4096 px, and undo history only moves on commitUndo.
 */
"use strict";

const crypto = require("node:crypto");
const zlib = require("node:zlib");

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An RGB PNG of `width`×`height`; `pixel(x, y)` gives [r, g, b]. */
function encodePng(width, height, pixel) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let offset = 0;
  for (let y = 0; y < height; y++) {
    raw[offset++] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      raw[offset++] = r;
      raw[offset++] = g;
      raw[offset++] = b;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(
    Buffer.concat([signature, chunk("IHDR", header), chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))])
  );
}

/** Decode an 8-bit RGB, unfiltered-or-not PNG made by encodePng: {width, height, pixel(x, y)}. */
function decodePng(bytes) {
  const buffer = Buffer.from(bytes);
  if (buffer.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG");
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat = [];
  while (offset < buffer.length) {
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString("ascii", offset + 4, offset + 8);
    const data = buffer.subarray(offset + 8, offset + 8 + length);
    if (crc32(buffer.subarray(offset + 4, offset + 8 + length)) !== buffer.readUInt32BE(offset + 8 + length)) {
      throw new Error(`bad CRC in ${type}`);
    }
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
    } else if (type === "IDAT") {
      idat.push(data);
    }
    offset += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 3 + 1;
  if (raw.length !== stride * height) throw new Error("truncated pixel data");
  return {
    width,
    height,
    pixel: (x, y) => [0, 1, 2].map((c) => raw[y * stride + 1 + x * 3 + c]),
  };
}

function deepFreeze(value) {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze(value[key]);
  }
  return value;
}

/** The pixel size from a PNG, GIF or JPEG header, written independently of code.js's reader. */
function headerSize(bytes) {
  const b = Buffer.from(bytes);
  if (b.length > 24 && b.readUInt32BE(0) === 0x89504e47) return [b.readUInt32BE(16), b.readUInt32BE(20)];
  if (b.length > 10 && b.toString("ascii", 0, 4) === "GIF8") return [b.readUInt16LE(6), b.readUInt16LE(8)];
  if (b.length > 4 && b[0] === 0xff && b[1] === 0xd8) {
    for (let i = 2; i + 9 < b.length; ) {
      const marker = b[i + 1];
      if (marker >= 0xc0 && marker <= 0xc3) return [b.readUInt16BE(i + 7), b.readUInt16BE(i + 5)];
      i += 2 + b.readUInt16BE(i + 2);
    }
  }
  return null;
}

/** A stand-in `figma` global; `log` records fills writes and undo commits in order. */
function makeFigma() {
  const images = new Map();
  const nodes = new Map();
  const storage = new Map();
  const log = [];
  const handlers = {};
  const posted = [];

  function storeImage(bytes) {
    const hash = crypto.createHash("sha1").update(bytes).digest("hex");
    if (!images.has(hash)) images.set(hash, new Uint8Array(bytes));
    return hash;
  }

  function imageObject(hash) {
    return { hash, getBytesAsync: async () => new Uint8Array(images.get(hash)) };
  }

  const figma = {
    mixed: Symbol("figma.mixed"),
    currentPage: { selection: [] },
    images,
    log,
    posted,
    storeImage,
    getImageByHash(hash) {
      return images.has(hash) ? imageObject(hash) : null;
    },
    createImage(bytes) {
      if (!(bytes instanceof Uint8Array)) throw new TypeError("createImage expects a Uint8Array");
      const size = headerSize(bytes);
      if (!size) throw new Error("Image type is unsupported");
      if (size[0] > 4096 || size[1] > 4096) throw new Error("Image is too large");
      log.push(["createImage", size]);
      return imageObject(storeImage(bytes));
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
        return storage.has(key) ? structuredClone(storage.get(key)) : undefined;
      },
      async setAsync(key, value) {
        storage.set(key, structuredClone(value));
      },
    },
    showUI(html, options) {
      log.push(["showUI", html, options]);
    },
    ui: {
      onmessage: null,
      postMessage(msg) {
        posted.push(msg);
      },
    },
    on(event, handler) {
      handlers[event] = handler;
    },
    emit(event) {
      handlers[event]();
    },
    /** A scene node; `fills` is frozen like Figma's and only replaceable as a whole. */
    node(id, { name = id, type = "RECTANGLE", fills, children } = {}) {
      let current = fills === undefined ? undefined : fills === figma.mixed ? fills : deepFreeze(fills.slice());
      const node = { id, name, type };
      if (fills !== undefined) {
        Object.defineProperty(node, "fills", {
          get: () => current,
          set: (value) => {
            if (!Array.isArray(value)) throw new TypeError("fills must be an array");
            log.push(["setFills", id, value]);
            current = deepFreeze(value.slice());
          },
        });
      }
      if (children) {
        node.children = Object.freeze(children.slice());
        for (const child of children) child.parent = node;
      }
      nodes.set(id, node);
      return node;
    },
    remove(id) {
      nodes.delete(id);
    },
  };
  return figma;
}

function imagePaint(hash, extra = {}) {
  return {
    type: "IMAGE",
    imageHash: hash,
    scaleMode: "CROP",
    imageTransform: [
      [0.5, 0, 0.25],
      [0, 0.5, 0.1],
    ],
    scalingFactor: 0.5,
    rotation: 0,
    filters: { exposure: 0.2, contrast: 0, saturation: -0.1, temperature: 0, tint: 0, highlights: 0, shadows: 0 },
    opacity: 0.9,
    blendMode: "NORMAL",
    visible: true,
    ...extra,
  };
}

module.exports = { encodePng, decodePng, makeFigma, imagePaint, headerSize };
