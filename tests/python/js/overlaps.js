// The text boxes of the page that overlap one another: every visible text
// node's rectangles, each cut to what its clipping ancestors (a board, a card)
// let show, compared pairwise. Returns [text, text, width, height] for each
// pair that overlaps by more than 3 px both ways. Used by test_wall.py.
() => {
  const visible = (el) => getComputedStyle(el).visibility === "visible";
  const clip = (el, r) => {
    let { left, top, right, bottom } = r;
    for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.overflowX !== "visible" || cs.overflowY !== "visible") {
        const b = a.getBoundingClientRect();
        left = Math.max(left, b.left); top = Math.max(top, b.top);
        right = Math.min(right, b.right); bottom = Math.min(bottom, b.bottom);
      }
    }
    return { left, top, right, bottom };
  };
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (!visible(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const raw of range.getClientRects()) {
      const r = clip(el, raw);
      if (r.right - r.left < 1 || r.bottom - r.top < 1) continue;
      boxes.push({ el, r, text: n.textContent.trim().slice(0, 24) });
    }
  }
  const out = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.el === b.el) continue;
      const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (w > 3 && h > 3) out.push([a.text, b.text, Math.round(w), Math.round(h)]);
    }
  }
  return out;
}
