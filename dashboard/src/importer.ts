// The clerk's import page (/import): choose the service and the kind,
// download the template, upload the sheet, read the dry run's summary (what
// would be created, updated, left unchanged or refused, with the line, the
// column and the reason), then confirm. The server runs the same import as
// `citydash import`, against the service that owns the data, with the token
// typed here; nothing is written before the clerk confirms.

import { claims } from "./credentials";

/** The tab's token: kept for this tab only, never in the address. */
const TOKEN_KEY = "citydash-import-token";

interface Column {
  zh: string;
  en: string;
  required: boolean;
}
interface Kind {
  name: string;
  zh: string;
  columns: Column[];
}
interface Service {
  name: string;
  zh: string;
  agency: string;
}
interface Catalog {
  kinds: Kind[];
  services: Service[];
  maxBytes: number;
}
interface Summary {
  kindZh: string;
  file: string;
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  refusedRows: number;
  refusals: number;
  refused: { line: number; column: string; reason: string }[];
  skipped: { line: number; reason: string }[];
  ignoredColumns: string[];
  written: boolean;
}

function el<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing`);
  return found as T;
}

const token = el<HTMLInputElement>("token");
const who = el("who");
const service = el<HTMLSelectElement>("service");
const kind = el<HTMLSelectElement>("kind");
const columns = el("columns");
const file = el<HTMLInputElement>("file");
const confirmText = el<HTMLInputElement>("confirm");
const check = el<HTMLButtonElement>("check");
const write = el<HTMLButtonElement>("write");
const error = el("error");
const summaryBox = el("summary-box");
const acceptBox = el("accept-box");
const accept = el<HTMLInputElement>("accept-good-rows");
const result = el("result");

let catalog: Catalog | undefined;
/** The last dry run, while the file and the choices it was made with stand. */
let checked: Summary | undefined;

/** Says who the token belongs to, and picks its service. */
function showToken() {
  const value = token.value.trim();
  window.sessionStorage.setItem(TOKEN_KEY, value);
  const c = value ? claims(value) : undefined;
  if (!value) {
    who.textContent = "尚未填写令牌。";
  } else if (!c) {
    who.textContent = "这不像是 citydash 签发的令牌，请核对。";
  } else {
    const sectors = Array.isArray(c.sectors) ? c.sectors.filter((s): s is string => typeof s === "string") : [];
    const exp = typeof c.exp === "number" ? new Date(c.exp * 1000) : undefined;
    const expired = exp !== undefined && exp.getTime() <= Date.now();
    who.textContent = `令牌签发给「${String(c.sub ?? "")}」，角色 ${String(c.role ?? "")}` +
      (sectors.length ? `，可写 ${sectors.join("、")}` : "") +
      (exp ? `，有效期至 ${exp.toLocaleDateString("zh-CN")}${expired ? "（已过期，请向管理员申请新令牌）" : ""}` : "") +
      "。";
    const own = sectors.find((s) => catalog?.services.some((x) => x.name === s));
    if (own && service.value !== own) {
      service.value = own;
    }
  }
  changed();
}

/** Shows the kind's columns and points the template links at it. */
function showKind() {
  const k = catalog?.kinds.find((x) => x.name === kind.value);
  columns.replaceChildren(
    ...(k?.columns ?? []).map((c) => {
      const li = document.createElement("li");
      li.textContent = c.required ? `${c.zh} *` : c.zh;
      li.title = c.en;
      if (c.required) li.className = "required";
      return li;
    }),
  );
  el<HTMLAnchorElement>("template-xlsx").href = `/import/templates/${kind.value}.xlsx`;
  el<HTMLAnchorElement>("template-csv").href = `/import/templates/${kind.value}.csv`;
  changed();
}

/** Anything the dry run depended on changed: it no longer stands. */
function changed() {
  checked = undefined;
  summaryBox.hidden = true;
  write.disabled = true;
  result.textContent = "";
  error.textContent = "";
  check.disabled = !(token.value.trim() && file.files?.length && kind.value && service.value);
}

/** Sends the chosen file; the summary, or a message to show. */
async function send(mode: "check" | "write"): Promise<Summary> {
  const chosen = file.files?.[0];
  if (!chosen) throw new Error("请先选择文件");
  if (catalog && chosen.size > catalog.maxBytes) {
    throw new Error(`文件过大（${(chosen.size / 1048576).toFixed(1)} MB），单个文件不超过 ${catalog.maxBytes / 1048576} MB`);
  }
  const params = new URLSearchParams({ service: service.value, file: chosen.name, mode });
  if (accept.checked) params.set("accept_good_rows", "true");
  if (confirmText.value.trim()) params.set("confirm", confirmText.value.trim());
  const answer = await fetch(`/import/${encodeURIComponent(kind.value)}?${params}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token.value.trim()}`, "Content-Type": "application/octet-stream" },
    body: await chosen.arrayBuffer(),
  });
  const body: unknown = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const message = (body as { message?: unknown }).message;
    throw new Error(typeof message === "string" && message ? message : `服务答复 ${answer.status}`);
  }
  return body as Summary;
}

function row(cells: (string | number)[], classes: string[] = []): HTMLTableRowElement {
  const tr = document.createElement("tr");
  cells.forEach((text, i) => {
    const td = document.createElement("td");
    td.textContent = String(text);
    if (classes[i]) td.className = classes[i];
    tr.append(td);
  });
  return tr;
}

/** Draws a summary: the counts, then every refusal and skipped row. */
function showSummary(s: Summary) {
  summaryBox.hidden = false;
  el("summary-title").textContent = `${s.kindZh} · ${s.file}：共读取 ${s.rows} 行${s.written ? "（已写入）" : "（试运行，未写入）"}`;
  const counts: [string, number, string][] = [
    ["新增", s.created, "created"],
    ["更新", s.updated, "updated"],
    ["未变", s.unchanged, "unchanged"],
    ["拒绝", s.refusedRows, "refused"],
    ["跳过", s.skipped.length, "skipped"],
  ];
  el("summary").replaceChildren(
    ...counts.map(([label, n, key]) => {
      const li = document.createElement("li");
      li.dataset.count = key;
      const b = document.createElement("b");
      b.textContent = String(n);
      li.append(`${label} `, b, " 行");
      return li;
    }),
  );
  el("ignored").textContent = s.ignoredColumns.length ? `未识别、未导入的列：${s.ignoredColumns.join("、")}` : "";
  const refused = el<HTMLTableElement>("refused");
  refused.hidden = s.refused.length === 0;
  refused.tBodies[0].replaceChildren(
    ...s.refused.map((r) => row([`第 ${r.line} 行`, r.column ? `「${r.column}」` : "整行", r.reason], ["line", "column", ""])),
  );
  el("refused-more").textContent =
    s.refusals > s.refused.length ? `另有 ${s.refusals - s.refused.length} 条拒绝原因未列出，请修改上面各行后重新试运行。` : "";
  const skipped = el<HTMLTableElement>("skipped");
  skipped.hidden = s.skipped.length === 0;
  skipped.tBodies[0].replaceChildren(...s.skipped.map((r) => row([`第 ${r.line} 行`, r.reason], ["line", ""])));
  acceptBox.hidden = s.refusedRows === 0 || s.written;
}

/** Whether the dry run lets the clerk write now. */
function writable(): boolean {
  return checked !== undefined && (checked.refusedRows === 0 || accept.checked) && checked.rows > checked.refusedRows;
}

async function runCheck() {
  error.textContent = "";
  result.textContent = "";
  check.disabled = true;
  try {
    checked = await send("check");
    showSummary(checked);
    result.dataset.state = checked.refusedRows ? "refused" : "ok";
    result.textContent = checked.refusedRows
      ? `有 ${checked.refusedRows} 行被拒绝：请按上表修改后重新试运行，或勾选“只导入正确的行”。`
      : "试运行通过：确认后写入。";
    write.disabled = !writable();
  } catch (e) {
    error.textContent = e instanceof Error ? e.message : String(e);
  } finally {
    check.disabled = false;
  }
}

async function runWrite() {
  if (!writable()) return;
  error.textContent = "";
  write.disabled = true;
  check.disabled = true;
  try {
    const done = await send("write");
    showSummary(done);
    result.dataset.state = "written";
    result.textContent = done.written
      ? `导入完成：新增 ${done.created} 行，更新 ${done.updated} 行，未变 ${done.unchanged} 行` +
        (done.refusedRows ? `；${done.refusedRows} 行被拒绝，未导入` : "") +
        "。大屏随即更新。"
      : "未写入：文件中有被拒绝的行。";
    checked = undefined;
  } catch (e) {
    error.textContent = e instanceof Error ? e.message : String(e);
    write.disabled = !writable();
  } finally {
    check.disabled = false;
  }
}

async function start() {
  const answer = await fetch("/import/kinds");
  catalog = (await answer.json()) as Catalog;
  service.replaceChildren(
    ...catalog.services.map((s) => {
      const o = document.createElement("option");
      o.value = s.name;
      o.textContent = `${s.zh}（${s.agency}）`;
      return o;
    }),
  );
  kind.replaceChildren(
    ...catalog.kinds.map((k) => {
      const o = document.createElement("option");
      o.value = k.name;
      o.textContent = `${k.zh}（${k.name}）`;
      return o;
    }),
  );
  token.value = window.sessionStorage.getItem(TOKEN_KEY) ?? "";
  token.addEventListener("input", showToken);
  service.addEventListener("change", changed);
  kind.addEventListener("change", showKind);
  file.addEventListener("change", changed);
  confirmText.addEventListener("input", changed);
  accept.addEventListener("change", () => {
    write.disabled = !writable();
  });
  check.addEventListener("click", () => void runCheck());
  write.addEventListener("click", () => void runWrite());
  showKind();
  showToken();
  document.body.dataset.ready = "true";
}

start().catch((e: unknown) => {
  error.textContent = `页面无法加载数据类别：${e instanceof Error ? e.message : String(e)}`;
});
