// A stand-in for the parts of Office.js (and PowerPoint's API) that the imgedit task pane uses.
// It serves window.STANDIN_DECK (a real .pptx, base64) through getFileAsync/getSliceAsync in
// slices of STANDIN_DECK.sliceSize bytes (whatever size the pane asks for, so that small slices can
// exercise the reassembly), allows one open file at a time as Office does, and records every call
// in window.STANDIN_CALLS and every progress text in window.STANDIN_PROGRESS for the test.
(() => {
  const spec = window.STANDIN_DECK;
  const deck = Uint8Array.from(atob(spec.data), (c) => c.charCodeAt(0));
  const calls = (window.STANDIN_CALLS = { getFile: [], slices: [], closed: 0, inserted: [] });
  const later = (fn) => setTimeout(fn, 5);
  const ok = (value) => ({ status: "succeeded", value });
  const failed = (code, message) => ({ status: "failed", error: { code, name: "Error", message } });
  let open = false;

  window.Office = {
    FileType: { Compressed: "compressed", Pdf: "pdf", Text: "text" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    onReady(callback) {
      const info = { host: "PowerPoint", platform: "PC" };
      later(() => callback && callback(info));
      return Promise.resolve(info);
    },
    context: {
      requirements: { isSetSupported: (name, version) => name === "PowerPointApi" && Number(version) <= 1.2 },
      document: {
        url: spec.url,
        getFileAsync(type, options, callback) {
          calls.getFile.push({ type, sliceSize: options.sliceSize });
          if (open) return later(() => callback(failed(5008, "Only one file can be open at a time.")));
          open = true;
          const sliceCount = Math.ceil(deck.length / spec.sliceSize);
          const file = {
            size: deck.length,
            sliceCount,
            getSliceAsync(index, done) {
              calls.slices.push(index);
              if (!open || index < 0 || index >= sliceCount) return later(() => done(failed(5001, "No such slice.")));
              const data = Array.from(deck.subarray(index * spec.sliceSize, (index + 1) * spec.sliceSize));
              later(() => done(ok({ index, size: data.length, data })));
            },
            closeAsync(done) {
              open = false;
              calls.closed += 1;
              later(() => done && done(ok(undefined)));
            },
          };
          later(() => callback(ok(file)));
        },
      },
    },
  };

  window.PowerPoint = {
    async run(batch) {
      const context = {
        presentation: {
          insertSlidesFromBase64(base64, options) { calls.inserted.push({ base64, options }); },
        },
        sync: async () => {},
      };
      return batch(context);
    },
  };

  window.STANDIN_PROGRESS = [];
  document.addEventListener("DOMContentLoaded", () => {
    const text = document.getElementById("progress-text");
    new MutationObserver(() => window.STANDIN_PROGRESS.push(text.textContent)).observe(text, {
      childList: true, characterData: true, subtree: true,
    });
  });
})();
