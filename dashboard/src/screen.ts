// The wall screen's frame. The page is drawn on a fixed 1920×1080 canvas (as
// Chinese 大屏 are) and scaled to whatever screen shows it (a 16:9 wall, 4K, a
// laptop), so nothing is ever below the fold. A narrow screen (a phone) gets
// the same panels in one scrolling column instead. The canvas holds several
// layouts, chosen by the address (?screen=overview|projects|supervision) or
// rotating (?screen=rotate&every=30), and boards whose lists are longer than
// their box scroll by themselves, one row at a time.

/** The design size of the canvas, in CSS pixels. */
export const DESIGN = { width: 1920, height: 1080 };

/** The screens' layouts, in the order a rotation shows them. */
export const LAYOUTS = ["overview", "projects", "supervision"] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Narrower than this, the page is one scrolling column (a phone). */
const PHONE_WIDTH = 800;

/** How often a board moves on by one row, in milliseconds. */
const BOARD_TICK_MS = 3000;

/** What the address asks for: the first layout, and the rotation period in seconds (0: none). */
export function chosen(params: URLSearchParams): { layout: Layout; rotateSeconds: number } {
  const screen = params.get("screen");
  const layout = (LAYOUTS as readonly string[]).includes(screen ?? "") ? (screen as Layout) : "overview";
  const every = Number(params.get("every") ?? "30");
  const rotateSeconds = screen === "rotate" ? Math.max(5, Number.isFinite(every) ? every : 30) : 0;
  return { layout, rotateSeconds };
}

/** Whether the page is shown as one column (a phone) rather than the canvas. */
export function isPhone(): boolean {
  return window.innerWidth < PHONE_WIDTH;
}

/**
 * Scales and centres the canvas in the window (or lets it flow on a phone).
 * Returns the scale: charts draw at it so a 4K wall stays sharp.
 */
export function fit(stage: HTMLElement): number {
  const phone = isPhone();
  document.documentElement.classList.toggle("wall", !phone);
  stage.classList.toggle("flow", phone);
  if (phone) {
    stage.style.transform = "";
    return 1;
  }
  const scale = Math.min(window.innerWidth / DESIGN.width, window.innerHeight / DESIGN.height);
  const x = (window.innerWidth - DESIGN.width * scale) / 2;
  const y = (window.innerHeight - DESIGN.height * scale) / 2;
  stage.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
  return scale;
}

/** Shows one layout of the canvas (on a phone every layout is shown, one under another). */
export function show(stage: HTMLElement, layout: Layout) {
  stage.dataset.screen = layout;
  stage.querySelectorAll<HTMLElement>(".layout").forEach((el) => el.classList.toggle("active", el.dataset.layout === layout));
  stage.querySelectorAll<HTMLElement>("#screens button").forEach((b) => b.classList.toggle("active", b.dataset.screen === layout));
  stage.querySelectorAll<HTMLElement>(".board").forEach((b) => (b.scrollTop = 0));
}

/** The layout after `layout` in a rotation. */
export function next(layout: Layout): Layout {
  return LAYOUTS[(LAYOUTS.indexOf(layout) + 1) % LAYOUTS.length];
}

// One step of a board: on to the next row not yet at the top, or back to the
// top (after one tick's pause at the end). A board under the pointer waits.
function step(board: HTMLElement) {
  const max = board.scrollHeight - board.clientHeight;
  if (max <= 1) {
    board.dataset.auto = "off";
    if (board.scrollTop !== 0) board.scrollTop = 0;
    return;
  }
  board.dataset.auto = "on";
  if (board.matches(":hover")) return;
  if (board.scrollTop >= max - 1) {
    if (board.dataset.atEnd === "1") {
      board.dataset.atEnd = "";
      board.scrollTo({ top: 0, behavior: "smooth" });
    } else {
      board.dataset.atEnd = "1";
    }
    return;
  }
  const box = board.getBoundingClientRect();
  const scale = box.height / board.clientHeight || 1;
  let target = max;
  for (const row of board.querySelectorAll<HTMLElement>("li, tr, p")) {
    const top = (row.getBoundingClientRect().top - box.top) / scale + board.scrollTop;
    if (top > board.scrollTop + 1) {
      target = Math.min(top, max);
      break;
    }
  }
  board.scrollTo({ top: target, behavior: "smooth" });
}

/**
 * Starts the boards of the shown layout scrolling by themselves (not on a
 * phone, where people scroll). It looks the boards up on each tick, so a
 * frame made again (another language) scrolls too.
 */
export function startBoards() {
  window.setInterval(() => {
    if (isPhone()) return;
    document.querySelectorAll<HTMLElement>("#stage .layout.active .board").forEach(step);
  }, BOARD_TICK_MS);
}
