/*
 * code.js under Node's test runner, against a stand-in `figma` holding real image bytes.
 * Run: node --test plugins/figma_bridge/plugin/tests/
 */
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { beforeEach, describe, test } = require("node:test");

const { decodePng, encodePng, imagePaint, makeFigma } = require("./standin.js");
const plugin = require("../code.js");

const FIXTURES = path.join(__dirname, "fixtures");

let figma;
let red;
let blue;

/** A page like a designer's: images inside frames inside groups, plus things to skip. */
function buildPage() {
  red = figma.storeImage(encodePng(8, 6, (x, y) => [200, 10 * x, 10 * y]));
  blue = figma.storeImage(encodePng(5, 5, () => [10, 20, 230]));
  const photo = figma.node("1:2", { name: "Photo", fills: [imagePaint(red)] });
  const card = figma.node("1:3", {
    name: "Card",
    fills: [{ type: "SOLID", color: { r: 1, g: 1, b: 1 } }, imagePaint(blue, { scaleMode: "FILL" })],
  });
  const hidden = figma.node("1:4", { name: "Hidden", fills: [imagePaint(blue, { visible: false })] });
  const label = figma.node("1:5", { name: "Label", type: "TEXT", fills: figma.mixed });
  const again = figma.node("1:6", { name: "Same photo", fills: [imagePaint(red, { scaleMode: "TILE" })] });
  const group = figma.node("1:7", { name: "Group", type: "GROUP", children: [card, hidden, label] });
  const inner = figma.node("1:8", { name: "Inner", type: "FRAME", fills: [], children: [group, again] });
  const outer = figma.node("1:1", { name: "Outer", type: "FRAME", fills: [imagePaint(red)], children: [photo, inner] });
  return { outer, photo, card, again, inner };
}

beforeEach(() => {
  figma = makeFigma();
  globalThis.figma = figma;
});

describe("collecting the selection", () => {
  test("finds every visible IMAGE fill in nested frames and groups, in document order", () => {
    const { outer } = buildPage();
    const found = plugin.collectImageFills([outer]);
    assert.deepEqual(
      found.map((f) => [f.item_id, f.node_name, f.image_hash]),
      [
        ["1:1#0", "Outer", red],
        ["1:2#0", "Photo", red],
        ["1:3#1", "Card", blue],
        ["1:6#0", "Same photo", red],
      ]
    );
  });

  test("a node selected twice (itself and through its parent) is collected once", () => {
    const { outer, photo } = buildPage();
    const found = plugin.collectImageFills([photo, outer]);
    assert.equal(found.filter((f) => f.node_id === "1:2").length, 1);
    assert.equal(found.length, 4);
  });

  test("sends the real bytes of each distinct image once", async () => {
    const { outer } = buildPage();
    figma.currentPage.selection = [outer];
    const reply = await plugin.handleMessage({ type: "collect" });
    assert.equal(reply.type, "selection");
    assert.equal(reply.items.length, 4);
    assert.deepEqual(reply.images.map((i) => i.image_hash), [red, blue]);
    const decoded = decodePng(reply.images[0].bytes);
    assert.deepEqual([decoded.width, decoded.height], [8, 6]);
    assert.deepEqual(decoded.pixel(3, 2), [200, 30, 20]);
    assert.deepEqual(reply.errors, []);
  });

  test("an image Figma cannot give back is a per-item error, the others go on", async () => {
    const { outer } = buildPage();
    figma.images.delete(blue);
    figma.currentPage.selection = [outer];
    const reply = await plugin.collectSelection();
    assert.deepEqual(reply.items.map((i) => i.item_id), ["1:1#0", "1:2#0", "1:6#0"]);
    assert.equal(reply.errors.length, 1);
    assert.equal(reply.errors[0].item_id, "1:3#1");
    assert.match(reply.errors[0].message, /Could not read the image/);
  });
});

describe("applying results", () => {
  test("writes a copy of the paint: scaleMode, imageTransform and filters kept, the original untouched", async () => {
    const { card } = buildPage();
    const before = card.fills;
    const originalPaint = before[1];
    const result = encodePng(5, 5, () => [240, 200, 90]);
    const reply = await plugin.applyResult({
      job_id: "job-copy",
      image_hash: blue,
      bytes: result,
      targets: [{ item_id: "1:3#1", node_id: "1:3", paint_index: 1 }],
    });
    assert.deepEqual(reply.results, [{ item_id: "1:3#1", ok: true }]);
    const after = card.fills;
    assert.notEqual(after, before, "fills is a new array");
    assert.notEqual(after[1], originalPaint, "the paint is a copy");
    assert.equal(originalPaint.imageHash, blue, "the old paint object is not mutated");
    assert.equal(before[1].imageHash, blue);
    assert.deepEqual(after[0], before[0], "the other fill is unchanged");
    const { imageHash, ...rest } = after[1];
    const { imageHash: oldHash, ...oldRest } = originalPaint;
    assert.deepEqual(rest, oldRest, "every other paint property is kept");
    assert.equal(rest.scaleMode, "FILL");
    assert.deepEqual(rest.imageTransform, [[0.5, 0, 0.25], [0, 0.5, 0.1]]);
    assert.notEqual(imageHash, oldHash);
    const stored = decodePng(await figma.getImageByHash(imageHash).getBytesAsync());
    assert.deepEqual(stored.pixel(4, 4), [240, 200, 90], "the new image is the result's bytes");
    plugin.finishJob({ job_id: "job-copy" });
  });

  test("one result goes to every fill that showed the image", async () => {
    const { outer, photo, again } = buildPage();
    const result = encodePng(8, 6, () => [1, 2, 3]);
    const targets = [
      { item_id: "1:1#0", node_id: "1:1", paint_index: 0 },
      { item_id: "1:2#0", node_id: "1:2", paint_index: 0 },
      { item_id: "1:6#0", node_id: "1:6", paint_index: 0 },
    ];
    const reply = await plugin.applyResult({ job_id: "job-dupes", image_hash: red, bytes: result, targets });
    assert.ok(reply.results.every((r) => r.ok));
    const hashes = new Set([outer, photo, again].map((n) => n.fills[0].imageHash));
    assert.equal(hashes.size, 1);
    assert.ok(!hashes.has(red));
    assert.equal(again.fills[0].scaleMode, "TILE");
    assert.equal(figma.log.filter((e) => e[0] === "createImage").length, 1);
    plugin.finishJob({ job_id: "job-dupes" });
  });

  test("a result over Figma's 4096 px limit is refused per item, before createImage", async () => {
    const { photo } = buildPage();
    const wide = encodePng(4097, 2, (x) => [x % 256, 0, 0]);
    const reply = await plugin.applyResult({
      job_id: "job-wide",
      image_hash: red,
      bytes: wide,
      targets: [{ item_id: "1:2#0", node_id: "1:2", paint_index: 0 }],
    });
    assert.equal(reply.results[0].ok, false);
    assert.match(reply.results[0].message, /4097×2 px; Figma takes images up to 4096×4096/);
    assert.equal(figma.log.filter((e) => e[0] === "createImage").length, 0);
    assert.equal(photo.fills[0].imageHash, red);
  });

  test("a result exactly 4096 px tall is accepted", async () => {
    const { photo } = buildPage();
    const tall = encodePng(1, 4096, (x, y) => [y % 256, 0, 0]);
    const reply = await plugin.applyResult({
      job_id: "job-tall",
      image_hash: red,
      bytes: tall,
      targets: [{ item_id: "1:2#0", node_id: "1:2", paint_index: 0 }],
    });
    assert.equal(reply.results[0].ok, true);
    assert.notEqual(photo.fills[0].imageHash, red);
    plugin.finishJob({ job_id: "job-tall" });
  });

  test("bytes that are not an image are refused", async () => {
    buildPage();
    const reply = await plugin.applyResult({
      job_id: "job-junk",
      image_hash: red,
      bytes: new TextEncoder().encode("<html>502 Bad Gateway</html>"),
      targets: [{ item_id: "1:2#0", node_id: "1:2", paint_index: 0 }],
    });
    assert.deepEqual(reply.results, [{ item_id: "1:2#0", ok: false, message: "The result is not a PNG, JPEG or GIF image." }]);
  });

  test("a fill changed or removed since it was collected is left alone and reported", async () => {
    const { photo } = buildPage();
    photo.fills = [imagePaint(blue)];
    figma.remove("1:6");
    const reply = await plugin.applyResult({
      job_id: "job-stale",
      image_hash: red,
      bytes: encodePng(8, 6, () => [9, 9, 9]),
      targets: [
        { item_id: "1:2#0", node_id: "1:2", paint_index: 0 },
        { item_id: "1:6#0", node_id: "1:6", paint_index: 0 },
        { item_id: "1:1#0", node_id: "1:1", paint_index: 0 },
      ],
    });
    assert.deepEqual(
      reply.results.map((r) => [r.item_id, r.ok, r.message]),
      [
        ["1:2#0", false, "The fill changed since it was sent; left as it is."],
        ["1:6#0", false, "The layer or its fill is gone."],
        ["1:1#0", true, undefined],
      ]
    );
    assert.equal(photo.fills[0].imageHash, blue);
    plugin.finishJob({ job_id: "job-stale" });
  });

  test("all changes of one job fall between two undo commits, so one undo reverts them", async () => {
    const { outer } = buildPage();
    figma.log.length = 0;
    for (const [target, hash] of [
      [{ item_id: "1:1#0", node_id: "1:1", paint_index: 0 }, red],
      [{ item_id: "1:3#1", node_id: "1:3", paint_index: 1 }, blue],
    ]) {
      await plugin.applyResult({
        job_id: "job-undo",
        image_hash: hash,
        bytes: encodePng(4, 4, () => [7, 7, 7]),
        targets: [target],
      });
    }
    const finished = plugin.finishJob({ job_id: "job-undo" });
    assert.deepEqual(finished, { type: "finished", job_id: "job-undo", applied: 2 });
    const steps = figma.log.filter((e) => e[0] === "commitUndo" || e[0] === "setFills").map((e) => e[0]);
    assert.deepEqual(steps, ["commitUndo", "setFills", "setFills", "commitUndo"]);
    assert.ok(figma.log.some((e) => e[0] === "notify" && e[1] === "imgedit: restyled 2 image fills."));
    assert.notEqual(outer.fills[0].imageHash, red);
  });

  test("finishing a job that changed nothing leaves the undo history alone", () => {
    buildPage();
    const finished = plugin.finishJob({ job_id: "job-none" });
    assert.equal(finished.applied, 0);
    assert.equal(figma.log.filter((e) => e[0] === "commitUndo").length, 0);
  });
});

describe("image headers", () => {
  test("reads the size of real PNG, JPEG and GIF files", () => {
    assert.deepEqual(plugin.imageSize(encodePng(31, 17, () => [0, 0, 0])), { format: "PNG", width: 31, height: 17 });
    const jpeg = new Uint8Array(fs.readFileSync(path.join(FIXTURES, "gradient-40x30.jpg")));
    assert.deepEqual(plugin.imageSize(jpeg), { format: "JPEG", width: 40, height: 30 });
    const gif = new Uint8Array(fs.readFileSync(path.join(FIXTURES, "gradient-40x30.gif")));
    assert.deepEqual(plugin.imageSize(gif), { format: "GIF", width: 40, height: 30 });
    assert.equal(plugin.imageSize(new Uint8Array([1, 2, 3])), null);
  });
});

describe("the plugin's message loop", () => {
  test("start() opens the panel, answers its messages and follows the selection", async () => {
    const { outer, photo } = buildPage();
    globalThis.__html__ = "<html>panel</html>";
    figma.currentPage.selection = [photo];
    plugin.start();
    assert.deepEqual(figma.log[0].slice(0, 2), ["showUI", "<html>panel</html>"]);
    assert.deepEqual(figma.posted.shift(), { type: "selection-changed", count: 1 });

    figma.currentPage.selection = [outer];
    figma.emit("selectionchange");
    assert.deepEqual(figma.posted.shift(), { type: "selection-changed", count: 4 });

    await figma.ui.onmessage({ type: "collect" });
    const selection = figma.posted.shift();
    assert.equal(selection.type, "selection");
    assert.equal(selection.images.length, 2);

    await figma.ui.onmessage({ type: "save-settings", settings: { server: "http://localhost:8000", key: "ik_x" } });
    await figma.ui.onmessage({ type: "load-settings" });
    assert.deepEqual(figma.posted.shift(), { type: "settings", settings: { server: "http://localhost:8000", key: "ik_x" } });

    await figma.ui.onmessage({ type: "explode" });
    assert.deepEqual(figma.posted.shift(), { type: "error", message: "Unknown message from the panel: explode" });
    delete globalThis.__html__;
  });
});
