/*
 * imgedit for Figma: the sandbox half of the plugin.
 *
 * Figma runs this file with the document in reach but no network; the panel (ui.html) has the
 * network but no document. So this half only does what needs the document: it finds the IMAGE
 * fills of the selection and hands their bytes to the panel, and it writes edited images back
 * into copies of those fills. The message shapes are in ../PROTOCOL.md, section 3.
 *
 * Plain script, no modules and no build step, so Figma can load it from the manifest as it is;
 * the guarded `module.exports` at the end lets Node's test runner load the same file.
 */
"use strict";

/** Figma refuses images larger than this on either side (figma.createImage throws). */
var FIGMA_MAX_SIDE = 4096;
var SETTINGS_KEY = "imgedit-settings";
var UI_SIZE = { width: 360, height: 560, title: "imgedit" };

/** Per job: how many fills were changed, so `finish` can report it and close the undo step. */
var openJobs = {};

function itemIdOf(nodeId, paintIndex) {
  return nodeId + "#" + paintIndex;
}

function isImagePaint(paint) {
  return Boolean(paint) && paint.type === "IMAGE" && typeof paint.imageHash === "string" &&
    paint.imageHash.length > 0 && paint.visible !== false;
}

/**
 * Every visible IMAGE fill in the given nodes and all their descendants (frames, groups,
 * components, instances, sections...), in document order, each node once.
 * Text nodes with mixed fills have `fills === figma.mixed` (not an array) and are skipped.
 */
function collectImageFills(roots) {
  var found = [];
  var seen = {};
  var stack = [];
  for (var r = roots.length - 1; r >= 0; r--) stack.push(roots[r]);
  while (stack.length > 0) {
    var node = stack.pop();
    if (!node || seen[node.id]) continue;
    seen[node.id] = true;
    var fills = node.fills;
    if (Array.isArray(fills)) {
      for (var i = 0; i < fills.length; i++) {
        if (isImagePaint(fills[i])) {
          found.push({
            item_id: itemIdOf(node.id, i),
            node_id: node.id,
            node_name: node.name || "",
            paint_index: i,
            image_hash: fills[i].imageHash,
          });
        }
      }
    }
    var children = "children" in node ? node.children : null;
    if (children) {
      for (var c = children.length - 1; c >= 0; c--) stack.push(children[c]);
    }
  }
  return found;
}

/**
 * The image fills of the current selection and the bytes of each distinct image, once.
 * `getBytesAsync` gives the uncropped original; the crop stays in the paint's imageTransform.
 */
async function collectSelection() {
  var fills = collectImageFills(figma.currentPage.selection);
  var images = [];
  var errors = [];
  var failedHashes = {};
  var byHash = {};
  for (var i = 0; i < fills.length; i++) {
    var hash = fills[i].image_hash;
    if (byHash[hash] || failedHashes[hash]) continue;
    var image = figma.getImageByHash(hash);
    try {
      if (!image) throw new Error("Figma has no image with this hash.");
      var bytes = await image.getBytesAsync();
      byHash[hash] = true;
      images.push({ image_hash: hash, bytes: bytes });
    } catch (err) {
      failedHashes[hash] = describe(err);
    }
  }
  var items = [];
  for (var j = 0; j < fills.length; j++) {
    var reason = failedHashes[fills[j].image_hash];
    if (reason) {
      errors.push({ item_id: fills[j].item_id, message: "Could not read the image: " + reason });
    } else {
      items.push(fills[j]);
    }
  }
  return { type: "selection", items: items, images: images, errors: errors };
}

function readUint32(bytes, offset) {
  return ((bytes[offset] << 24) >>> 0) + (bytes[offset + 1] << 16) + (bytes[offset + 2] << 8) + bytes[offset + 3];
}

/**
 * The pixel size of PNG, JPEG or GIF bytes from their header, or null if they are none of
 * those. Read here because the sandbox has no image decoder, and Figma's createImage only
 * says "failed" when an image is too large.
 */
function imageSize(bytes) {
  if (!bytes || bytes.length < 10) return null;
  // PNG: signature, then the IHDR chunk with width and height.
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    if (bytes.length < 24) return null;
    return { format: "PNG", width: readUint32(bytes, 16), height: readUint32(bytes, 20) };
  }
  // GIF: "GIF8", then the logical screen size, little-endian.
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x38) {
    return { format: "GIF", width: bytes[6] | (bytes[7] << 8), height: bytes[8] | (bytes[9] << 8) };
  }
  // JPEG: walk the segments to the first start-of-frame marker.
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    var offset = 2;
    while (offset + 9 < bytes.length) {
      if (bytes[offset] !== 0xff) return null;
      var marker = bytes[offset + 1];
      if (marker === 0xff) {
        offset += 1;
        continue;
      }
      var length = (bytes[offset + 2] << 8) | bytes[offset + 3];
      var isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isFrame) {
        return {
          format: "JPEG",
          height: (bytes[offset + 5] << 8) | bytes[offset + 6],
          width: (bytes[offset + 7] << 8) | bytes[offset + 8],
        };
      }
      offset += 2 + length;
    }
  }
  return null;
}

function describe(err) {
  return err && err.message ? err.message : String(err);
}

async function findNode(nodeId) {
  if (typeof figma.getNodeByIdAsync === "function") return figma.getNodeByIdAsync(nodeId);
  return figma.getNodeById(nodeId);
}

/**
 * Put one edited image into the fills it belongs to.
 *
 * Each fill gets a copy of its paint with only the imageHash changed, so scaleMode,
 * imageTransform, scalingFactor, rotation, filters, opacity and blendMode are kept; the fills
 * array is copied too (Figma's are frozen). A fill that no longer shows the image it had when
 * collected (the user changed it meanwhile) is left alone and reported.
 */
async function applyResult(msg) {
  var targets = msg.targets || [];
  var fail = function (message) {
    return {
      type: "applied",
      job_id: msg.job_id,
      results: targets.map(function (t) {
        return { item_id: t.item_id, ok: false, message: message };
      }),
    };
  };
  var size = imageSize(msg.bytes);
  if (!size) return fail("The result is not a PNG, JPEG or GIF image.");
  if (size.width > FIGMA_MAX_SIDE || size.height > FIGMA_MAX_SIDE) {
    return fail(
      "The result is " + size.width + "×" + size.height + " px; Figma takes images up to " +
        FIGMA_MAX_SIDE + "×" + FIGMA_MAX_SIDE + " px."
    );
  }
  var image;
  try {
    image = figma.createImage(msg.bytes);
  } catch (err) {
    return fail("Figma could not take the result: " + describe(err));
  }
  if (!openJobs[msg.job_id]) {
    // Close the undo step of whatever the user did before, so one undo reverts only the restyle.
    figma.commitUndo();
    openJobs[msg.job_id] = { applied: 0 };
  }
  var results = [];
  for (var i = 0; i < targets.length; i++) {
    var target = targets[i];
    var node = await findNode(target.node_id);
    var fills = node && Array.isArray(node.fills) ? node.fills : null;
    var paint = fills ? fills[target.paint_index] : null;
    if (!paint) {
      results.push({ item_id: target.item_id, ok: false, message: "The layer or its fill is gone." });
      continue;
    }
    if (paint.type !== "IMAGE" || paint.imageHash !== msg.image_hash) {
      results.push({ item_id: target.item_id, ok: false, message: "The fill changed since it was sent; left as it is." });
      continue;
    }
    var newFills = fills.slice();
    newFills[target.paint_index] = Object.assign({}, paint, { imageHash: image.hash });
    node.fills = newFills;
    openJobs[msg.job_id].applied += 1;
    results.push({ item_id: target.item_id, ok: true });
  }
  return { type: "applied", job_id: msg.job_id, results: results };
}

/** The job is over: its changes become one undo step. */
function finishJob(msg) {
  var job = openJobs[msg.job_id];
  delete openJobs[msg.job_id];
  var applied = job ? job.applied : 0;
  if (job) figma.commitUndo();
  if (applied > 0) figma.notify("imgedit: restyled " + applied + " image fill" + (applied === 1 ? "" : "s") + ".");
  return { type: "finished", job_id: msg.job_id, applied: applied };
}

/** Answer one message from the panel; returns the reply (or null when there is none). */
async function handleMessage(msg) {
  switch (msg && msg.type) {
    case "collect":
      return collectSelection();
    case "apply":
      return applyResult(msg);
    case "finish":
      return finishJob(msg);
    case "load-settings":
      return { type: "settings", settings: (await figma.clientStorage.getAsync(SETTINGS_KEY)) || null };
    case "save-settings":
      await figma.clientStorage.setAsync(SETTINGS_KEY, msg.settings);
      return null;
    default:
      return { type: "error", message: "Unknown message from the panel: " + (msg && msg.type) };
  }
}

function selectionCount() {
  return { type: "selection-changed", count: collectImageFills(figma.currentPage.selection).length };
}

/** Open the panel and wire the two halves together. */
function start() {
  figma.showUI(__html__, UI_SIZE);
  figma.ui.onmessage = function (msg) {
    return handleMessage(msg).then(
      function (reply) {
        if (reply) figma.ui.postMessage(reply);
      },
      function (err) {
        figma.ui.postMessage({ type: "error", message: describe(err) });
      }
    );
  };
  figma.on("selectionchange", function () {
    figma.ui.postMessage(selectionCount());
  });
  figma.ui.postMessage(selectionCount());
}

if (typeof figma !== "undefined" && typeof __html__ !== "undefined") start();

if (typeof module !== "undefined" && module.exports) {
  module.exports = {
    FIGMA_MAX_SIDE: FIGMA_MAX_SIDE,
    collectImageFills: collectImageFills,
    collectSelection: collectSelection,
    imageSize: imageSize,
    applyResult: applyResult,
    finishJob: finishJob,
    handleMessage: handleMessage,
    start: start,
  };
}
