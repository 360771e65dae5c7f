// Helpers evaluated in the page by the browser tests. Each returns plain data.
({
  // A fingerprint of what the first explorer shows: its visible frame's text and image.
  fingerprint() {
    const explorer = document.querySelector(".mlsys-explorer");
    if (!explorer) return null;
    const frames = [...explorer.querySelectorAll(".mlsys-frame, .mlsys-message")];
    const visible = frames.find((frame) => frame.getClientRects().length > 0);
    if (!visible) return null;
    const image = visible.querySelector("img");
    return visible.innerText + "|" + (image ? image.src.length + image.src.slice(-64) : "");
  },

  // Record when the visible frame next changes, measured from the next keydown.
  armTimer() {
    window.__explorerTimer = { keydown: null, changed: null };
    const timer = window.__explorerTimer;
    const start = this.fingerprint();
    document.addEventListener("keydown", () => { timer.keydown ??= performance.now(); },
      { capture: true, once: true });
    const poll = () => {
      if (this.fingerprint() !== start) { timer.changed = performance.now(); return; }
      requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  },

  elapsed() {
    const timer = window.__explorerTimer;
    return timer && timer.keydown !== null && timer.changed !== null
      ? timer.changed - timer.keydown : null;
  },
})
