// Checks that the browser tests evaluate in a page. Each returns plain data.
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

  explorerRightEdge() {
    return document.querySelector(".mlsys-explorer").getBoundingClientRect().right;
  },

  widestVisibleFrameImage() {
    const images = [...document.querySelectorAll(".mlsys-frame img")]
      .filter((image) => image.getClientRects().length);
    return Math.max(...images.map((image) => image.getBoundingClientRect().width));
  },

  imagesWithoutAlt() {
    return [...document.querySelectorAll("main img, article img")]
      .filter((image) => !(image.getAttribute("alt") || "").trim())
      .map((image) => image.src.slice(0, 80));
  },

  async seriousAxeViolations() {
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((violation) => ["serious", "critical"].includes(violation.impact))
      .map((violation) => violation.id + ": " +
        violation.nodes.slice(0, 3).map((node) => node.target.join(" ")).join(", "));
  },

  // Text in explorers, figures and cell outputs whose contrast with the first
  // opaque background behind it is below WCAG AA (4.5:1).
  lowContrastText() {
    const parse = (colour) => (colour.match(/[\d.]+/g) || []).map(Number);
    const channel = (value) => {
      const v = value / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    const luminance = ([r, g, b]) =>
      0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const background = (element) => {
      for (; element; element = element.parentElement) {
        const colour = parse(getComputedStyle(element).backgroundColor);
        if (colour.length === 3 || (colour.length === 4 && colour[3] > 0.5)) {
          return colour.slice(0, 3);
        }
      }
      return null;
    };
    const problems = [];
    const scope = document.querySelectorAll(
      ".mlsys-explorer *, figure *, .cell_output *");
    for (const element of scope) {
      const hasText = [...element.childNodes].some(
        (node) => node.nodeType === 3 && node.textContent.trim());
      if (!hasText || !element.getClientRects().length) continue;
      const text = element.textContent.trim().slice(0, 40);
      const back = background(element);
      if (!back) {
        problems.push("transparent all the way up: " + text);
        continue;
      }
      const front = parse(getComputedStyle(element).color).slice(0, 3);
      const [light, dark] = [luminance(front), luminance(back)].sort((a, b) => b - a);
      const ratio = (light + 0.05) / (dark + 0.05);
      if (ratio < 4.5) problems.push(ratio.toFixed(2) + ": " + text);
    }
    return problems;
  },
})
