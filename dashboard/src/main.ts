// The citydash wall screen. It reads the aggregator through grpc-web (the
// same CityService contract any front end uses), follows WatchOverview so a
// pushed update appears without a reload, and draws with Apache ECharts on
// the scaled canvas of screen.ts. The frame is made once; an update writes
// only the parts that changed and calls setOption on the same charts.

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import * as echarts from "echarts/core";
import { BarChart, GaugeChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

import {
  AlertColor,
  CityService,
  type Alert,
  type FunnelRow,
  type GetStatisticsWhatIfResponse,
  type GetReportingResponse,
  type GetTrendResponse,
  type IndicatorRanking,
  type IndicatorStatus,
  type Overview,
  type ReportingFigures,
  ReportingStatus,
  type SectorSummary,
  type SupervisionReport,
} from "./gen/citydash/v1/city_pb";
import {
  OrderColor,
  OrderState,
  OrdersService,
  type GetUnitStandingsResponse,
  type SupervisionOrder,
} from "./gen/citydash/v1/orders_pb";
import { NotificationsService, type GetNotificationHealthResponse } from "./gen/citydash/v1/notifications_pb";
import { Sector, ValueStatus } from "./gen/citydash/v1/common_pb";
import { amount, percent } from "./format";
import { labels, type Lang } from "./i18n";
import { Credential } from "./credentials";
import { chosen, fit, LAYOUTS, next, show, startBoards, type Layout } from "./screen";

echarts.use([BarChart, GaugeChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

const params = new URLSearchParams(window.location.search);
const credential = new Credential();

function hex(bytes: number): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// Every call carries the viewer token and starts a W3C trace, which the
// aggregator (and a sector service behind a drill-down) continue. An answer
// means the token was accepted, so the screen keeps it.
const bearer: Interceptor = (next) => async (req) => {
  const token = credential.token;
  if (token) req.header.set("authorization", `Bearer ${token}`);
  req.header.set("traceparent", `00-${hex(16)}-${hex(8)}-01`);
  const res = await next(req);
  if (token === credential.token) credential.accepted();
  return res;
};
const transport = createGrpcWebTransport({ baseUrl: window.location.origin, interceptors: [bearer] });
const client = createClient(CityService, transport);
// The supervision orders: read-only here, as for any viewer.
const ordersClient = createClient(OrdersService, transport);
// Whether the units are being told: the destinations that keep failing.
const notificationsClient = createClient(NotificationsService, transport);

let lang: Lang = (params.get("lang") as Lang) === "en" ? "en" : "zh";
let overview: Overview | undefined;
let extras: {
  alerts: Alert[];
  funnel: FunnelRow[];
  ranking: IndicatorRanking[];
  report?: SupervisionReport;
  brief: string;
  trends: GetTrendResponse[];
  whatIf?: GetStatisticsWhatIfResponse;
  orders: SupervisionOrder[];
  standings?: GetUnitStandingsResponse;
  reporting?: GetReportingResponse;
  notify?: GetNotificationHealthResponse;
} = {
  orders: [],
  alerts: [],
  funnel: [],
  ranking: [],
  brief: "",
  trends: [],
};

// One ECharts instance per chart for the life of the page: an update calls
// setOption on it, never a new instance (a screen runs for months).
const charts = new Map<string, echarts.ECharts>();
let scale = 1;

const VERDICT_COLOURS: Record<number, string> = { 1: "#2ecc71", 2: "#f1c40f", 3: "#e74c3c", 4: "#7f8c8d" };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

function t() {
  return labels[lang];
}

function name(def: { nameZh: string; nameEn: string } | undefined): string {
  return def ? (lang === "en" ? def.nameEn : def.nameZh) : "";
}

function rateValue(r: { value?: number } | undefined): number | undefined {
  return r?.value;
}

function money(v: bigint): string {
  return amount(v, "yuan", "元", lang === "en");
}

// A chart is made the first time its box is on screen (a layout not shown
// yet has no size to draw in), and kept from then on.
function chart(id: string): echarts.ECharts | undefined {
  const el = document.getElementById(id);
  if (!el) return undefined;
  let c = charts.get(id);
  if (!c) {
    if (el.clientWidth === 0 || el.clientHeight === 0) return undefined;
    c = echarts.init(el, undefined, { renderer: "canvas", devicePixelRatio: window.devicePixelRatio * Math.max(1, scale) });
    charts.set(id, c);
  }
  return c;
}

function disposeCharts(prefix = "") {
  for (const [id, c] of charts) {
    if (id.startsWith(prefix)) {
      c.dispose();
      charts.delete(id);
    }
  }
}

// What each element last got: an element is written only when its content
// changed, so an update touches little and a board keeps its scroll place.
const written = new Map<string, string>();

function fill(id: string, html: string) {
  if (written.get(id) === html) return;
  const el = document.getElementById(id);
  if (!el) return;
  el.innerHTML = html;
  written.set(id, html);
}

function indicatorAmount(s: IndicatorStatus): string {
  const d = s.definition;
  if (s.actual === undefined || !d) return t().noData;
  return amount(s.actual, d.unit, d.unitZh, lang === "en");
}

// A provisional figure (初步) says so beside its amount.
function provisional(s: IndicatorStatus): string {
  return s.actual !== undefined && s.status === ValueStatus.PROVISIONAL
    ? `<span class="provisional" title="${esc(t().provisionalTitle)}">${esc(t().provisional)}</span>`
    : "";
}

function growth(s: IndicatorStatus): string {
  if (s.officialYoyGrowth !== undefined) return `${t().yoy} ${percent(s.officialYoyGrowth)}（${t().official}）`;
  const g = rateValue(s.yoyGrowth);
  return g === undefined ? `${t().yoy} ${t().na}` : `${t().yoy} ${percent(g)}`;
}

// Where the year lands at this pace (全年落点): the landing at last year's
// seasonal pace (a straight pace without last year), its share of the
// target, what each remaining month needs, and the outlook's verdict.
function landing(s: IndicatorStatus): string {
  const o = s.outlook;
  const d = s.definition;
  if (!o || !d) return "";
  if (o.met) return `<div class="sub landing" data-landing="met">${esc(t().targetMet)}</div>`;
  const e = o.seasonalLanding ?? o.linearLanding;
  const share = rateValue(o.seasonalShare ?? o.linearShare);
  const am = (v: bigint) => amount(v, d.unit, d.unitZh, lang === "en");
  const monthly = o.requiredMonthly === undefined ? "" : `<div class="sub">${esc(t().monthlyNeeded)} ${esc(am(o.requiredMonthly))}</div>`;
  return `<div class="sub landing" data-landing="${e}" data-outlook-verdict="${o.verdict}">
      ${esc(t().landing)} ${esc(am(e))}（${percent(share)}）<b>${esc(t().outlookVerdict[o.verdict] ?? "—")}</b></div>${monthly}`;
}

// The statistics-database what-if, marked as the projection it is (推演):
// how many started projects outside the database are ready, and the
// completion of fixed-asset investment if they entered it.
function whatIfLine(): string {
  const w = extras.whatIf;
  const ready = w?.withReady;
  if (!w || w.projects.length === 0 || !ready) return "";
  const c = rateValue(ready.completion);
  return `<div class="sub projection" id="what-if" data-ready="${ready.addedProjects}" data-completion="${c ?? ""}">
      ${esc(t().projection)} ${esc(t().whatIf(ready.addedProjects, w.projects.length, percent(c)))}</div>`;
}

// A headline's frame: its charts live as long as the page.
function headlineFrame(code: string): string {
  const c = esc(code);
  return `<section class="card headline" data-indicator="${c}">
      <h2 id="hl-name-${c}"></h2>
      <div class="amount-line" id="hl-amount-${c}"></div>
      <div class="sub" id="hl-growth-${c}"></div>
      <div class="hl-mid"><div class="gauge" id="gauge-${c}"></div><div class="hl-facts" id="hl-facts-${c}"></div></div>
      <div class="trend" id="trend-${c}"></div>
    </section>`;
}

function updateHeadline(s: IndicatorStatus) {
  const code = s.definition?.code ?? "";
  const card = document.querySelector<HTMLElement>(`.headline[data-indicator="${CSS.escape(code)}"]`);
  if (card) card.dataset.verdict = String(s.verdict);
  const colour = VERDICT_COLOURS[s.verdict] ?? "#7f8c8d";
  fill(`hl-name-${code}`, esc(name(s.definition)));
  fill(`hl-amount-${code}`, `<span class="amount">${esc(indicatorAmount(s))}</span>${provisional(s)}`);
  fill(`hl-growth-${code}`, esc(growth(s)));
  fill(
    `hl-facts-${code}`,
    `<div class="sub"><span class="dot" style="background:${colour}"></span>
      <span class="completion">${esc(t().completion)} ${percent(rateValue(s.completion))}</span></div>
    <div class="sub">${esc(t().timeProgress)} ${percent(s.timeProgress)}</div>${landing(s)}`,
  );
  drawGauge(s);
}

// The year as a curve (亿元 for money): the actual by month, last year's
// curve, the straight time-progress line to the target, and the projected
// path to the year-end landing.
function drawTrend(trend: GetTrendResponse) {
  const code = trend.definition?.code ?? "";
  const c = chart(`trend-${code}`);
  if (!c) return;
  const isMoney = trend.definition?.unit === "yuan";
  const value = (v: bigint | undefined) => (v === undefined ? null : isMoney ? Number(v) / 1e8 : Number(v));
  const line = (name: string, points: { month: number; value?: bigint }[], colour: string, dashed = false) => ({
    name,
    type: "line",
    data: points.map((p) => [p.month, value(p.value)]),
    connectNulls: true,
    showSymbol: false,
    lineStyle: { color: colour, type: dashed ? "dashed" : "solid", width: 3 },
    itemStyle: { color: colour },
  });
  const series = [
    line(t().trendActual, trend.actual, "#2ecc71"),
    line(t().trendLastYear, trend.lastYear, "#8b949e"),
    line(t().timeProgress, trend.timeProgress, "#1f6feb", true),
    line(t().landing, trend.projected, "#f1c40f", true),
  ];
  const axis = { color: "#8b949e", fontSize: 14 };
  c.setOption({
    animation: false,
    grid: { left: 56, right: 12, top: 34, bottom: 26 },
    legend: { top: 0, textStyle: { color: "#8b949e", fontSize: 14 }, itemWidth: 16, itemHeight: 8 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "value", min: 1, max: 12, interval: 1, axisLabel: axis, splitLine: { lineStyle: { color: "#21262d" } } },
    yAxis: { type: "value", axisLabel: axis, splitLine: { lineStyle: { color: "#21262d" } } },
    series,
  });
  const el = document.getElementById(`trend-${code}`);
  if (el) el.dataset.series = String(series.filter((s) => s.data.length > 0).length);
}

function drawGauge(s: IndicatorStatus) {
  const c = chart(`gauge-${s.definition?.code ?? ""}`);
  if (!c) return;
  const value = Math.round((rateValue(s.completion) ?? 0) * 1000) / 10;
  c.setOption({
    animation: false,
    series: [
      {
        type: "gauge",
        min: 0,
        max: 100,
        radius: "95%",
        center: ["50%", "58%"],
        progress: { show: true, width: 14, itemStyle: { color: VERDICT_COLOURS[s.verdict] } },
        axisLine: { lineStyle: { width: 14, color: [[s.timeProgress, "#1f6feb"], [1, "#30363d"]] } },
        axisTick: { show: false },
        splitLine: { show: false },
        axisLabel: { show: false },
        pointer: { show: false },
        detail: { valueAnimation: false, formatter: "{value}%", color: "#e6edf3", fontSize: 26, offsetCenter: [0, "10%"] },
        data: [{ value }],
      },
    ],
  });
}

// A sector's panel: its frame is made once, its parts filled on each update.
function sectorFrame(sector: number): string {
  return `<section class="card sector" data-sector="${sector}">
      <h2 id="sector-title-${sector}"></h2>
      <div class="alerts-count" id="sector-alerts-${sector}"></div>
      <div class="board" id="sector-board-${sector}"></div>
      <ul class="figures" id="sector-figures-${sector}"></ul>
      <div class="sub" id="sector-investment-${sector}"></div>
      <div class="sub" id="sector-reporting-${sector}"></div>
    </section>`;
}

function updateSector(s: SectorSummary) {
  const n = s.sector;
  const inv = s.investment;
  const stale = s.feed?.stale ? ` <span class="stale">${esc(t().stale)}</span>` : "";
  fill(`sector-title-${n}`, `${esc(t().sectors[n] ?? "")}${stale}`);
  fill(
    `sector-alerts-${n}`,
    `<span class="red">${esc(t().red)} ${s.redAlerts}</span><span class="yellow">${esc(t().yellow)} ${s.yellowAlerts}</span>`,
  );
  const rows = s.indicators
    .map(
      (i) => `<tr data-indicator="${esc(i.definition?.code ?? "")}">
        <td>${esc(name(i.definition))}</td><td class="num">${esc(indicatorAmount(i))}${provisional(i)}</td>
        <td class="num">${percent(rateValue(i.completion))}</td>
        <td><span class="dot" style="background:${VERDICT_COLOURS[i.verdict] ?? "#7f8c8d"}"></span></td></tr>`,
    )
    .join("");
  fill(`sector-board-${n}`, `<table>${rows}</table>`);
  fill(
    `sector-figures-${n}`,
    s.figures
      .map(
        (f) => `<li data-figure="${esc(f.code)}"><span>${esc(lang === "en" ? f.labelEn : f.labelZh)}</span>
      <b>${esc(amount(f.value, f.unit, f.unitZh, lang === "en"))}</b></li>`,
      )
      .join(""),
  );
  fill(
    `sector-investment-${n}`,
    `${esc(t().counted)} ${esc(money(inv?.countedYuan ?? 0n))} · ${esc(t().startRate)} ${percent(rateValue(inv?.startRate))}`,
  );
  const reporting = document.getElementById(`sector-reporting-${n}`);
  if (reporting) reporting.dataset.reporting = String(s.reporting?.missing ?? 0);
  fill(`sector-reporting-${n}`, reportingFigures(s.reporting));
}

// One sector's (or the city's) reporting in a line: the two rates and what is missing.
function reportingFigures(f: ReportingFigures | undefined): string {
  if (!f) return "";
  return `${esc(t().reportingShort)} ${esc(t().completeness)} ${percent(rateValue(f.completeness))}
    · ${esc(t().timeliness)} ${percent(rateValue(f.timeliness))}
    · ${esc(t().missing)} <b class="${f.missing ? "red" : ""}">${f.missing}</b>`;
}

// Who has not reported: every agency of the month, the overdue (逾期未报) first,
// as GetReporting orders them.
function updateReporting() {
  const r = extras.reporting;
  if (!r) return;
  const total = r.total;
  fill(
    "reporting-counts",
    `${esc(t().reportingMonth(r.period?.month ?? 0))}
      · ${esc(t().completeness)} <b>${percent(rateValue(total?.completeness))}</b>
      · ${esc(t().timeliness)} <b>${percent(rateValue(total?.timeliness))}</b>
      · <span class="red">${esc(t().overdueAgencies)} ${r.overdueAgencies}</span>`,
  );
  const counts = document.getElementById("reporting-counts");
  if (counts) counts.dataset.overdue = String(r.overdueAgencies);
  const rows = r.agencies
    .map((a) => {
      const f = a.figures;
      const cls = a.status === ReportingStatus.OVERDUE ? "red" : a.status === ReportingStatus.LATE ? "yellow" : "normal";
      return `<tr data-agency="${esc(a.unitCode)}" data-status="${a.status}" class="${cls}">
        <td>${esc(a.unitNameZh)}</td><td>${esc(t().sectors[a.sector] ?? "")}</td>
        <td class="num">${percent(rateValue(f?.completeness))}</td><td class="num">${percent(rateValue(f?.timeliness))}</td>
        <td class="num">${f?.missing ?? 0}</td><td>${esc(t().reportingStates[a.status] ?? "")}</td></tr>`;
    })
    .join("");
  fill(
    "reporting-board",
    `<table><tr><th>${esc(t().unit)}</th><th>${esc(t().sector)}</th><th>${esc(t().completeness)}</th>
      <th>${esc(t().timeliness)}</th><th>${esc(t().missing)}</th><th>${esc(t().state)}</th></tr>${rows}</table>`,
  );
}

function funnelTotals(rows: FunnelRow[]): number[] {
  return [1, 2, 3, 4, 6, 7].map((stage) => rows.reduce((sum, r) => sum + (r.reached[stage] ?? 0), 0));
}

const AXIS_TEXT = { color: "#e6edf3", fontSize: 16 };

function drawProjectCharts(o: Overview) {
  const totals = funnelTotals(extras.funnel);
  chart("funnel-chart")?.setOption({
    animation: false,
    grid: { left: 110, right: 60, top: 10, bottom: 30 },
    xAxis: { type: "value", axisLabel: { color: "#8b949e", fontSize: 14 }, splitLine: { lineStyle: { color: "#21262d" } } },
    yAxis: { type: "category", inverse: true, data: t().stages, axisLabel: AXIS_TEXT },
    series: [{ type: "bar", data: totals, itemStyle: { color: "#1f6feb" }, label: { show: true, position: "right", ...AXIS_TEXT } }],
  });
  // The donut draws no labels of its own: the legend beside it names each
  // part with its amount, so no label can sit on another.
  const inv = o.investment;
  const parts = [
    { name: t().counted, yuan: inv?.countedYuan ?? 0n, color: "#2ecc71" },
    { name: t().uncounted, yuan: inv?.uncountedYuan ?? 0n, color: "#e74c3c" },
  ];
  const donut = chart("investment-chart");
  // On a narrow card (a phone) the legend goes under the donut, not beside it.
  const narrow = (donut?.getWidth() ?? 0) < 420;
  donut?.setOption({
    animation: false,
    tooltip: {},
    legend: {
      orient: narrow ? "horizontal" : "vertical",
      right: narrow ? "center" : 10,
      top: narrow ? "bottom" : "middle",
      textStyle: { color: "#e6edf3", fontSize: narrow ? 14 : 18 },
      formatter: (n: string) => `${n}  ${money(parts.find((p) => p.name === n)?.yuan ?? 0n)}`,
    },
    series: [
      {
        type: "pie",
        radius: narrow ? ["35%", "60%"] : ["45%", "75%"],
        center: narrow ? ["50%", "42%"] : ["25%", "50%"],
        label: { show: false },
        data: parts.map((p) => ({ name: p.name, value: Number(p.yuan) / 1e4, itemStyle: { color: p.color } })),
      },
    ],
  });
  const p = o.promotion;
  const rates = [p?.startRate, p?.fulfilmentRate, p?.fundsArrivalRate].map((r) => Math.round((rateValue(r) ?? 0) * 1000) / 10);
  chart("promotion-chart")?.setOption({
    animation: false,
    grid: { left: 56, right: 20, top: 30, bottom: 34 },
    xAxis: { type: "category", data: [t().promotionStart, t().fulfilment, t().fundsArrival], axisLabel: { ...AXIS_TEXT, interval: 0 } },
    yAxis: {
      type: "value",
      max: 100,
      axisLabel: { color: "#8b949e", fontSize: 14, formatter: "{value}%" },
      splitLine: { lineStyle: { color: "#21262d" } },
    },
    series: [{ type: "bar", data: rates, itemStyle: { color: "#a371f7" }, label: { show: true, position: "top", ...AXIS_TEXT, formatter: "{c}%" } }],
  });
}

function rankingTables(): string {
  return extras.ranking
    .map((r) => {
      const rows = r.places
        .map(
          (p) => `<tr data-region="${esc(p.regionCode)}"><td>${esc(p.regionNameZh)}</td>
          <td class="num">${p.published ? esc(amount(p.amount, r.definition?.unit ?? "", r.definition?.unitZh ?? "", lang === "en")) : esc(t().unpublished)}</td>
          <td class="num">${p.published ? p.amountRank : "—"}</td><td class="num">${p.growthRank > 0 ? p.growthRank : "—"}</td></tr>`,
        )
        .join("");
      return `<table data-ranking="${esc(r.definition?.code ?? "")}">
        <tr><th>${esc(name(r.definition))}</th><th></th><th>${esc(t().amountRank)}</th><th>${esc(t().growthRank)}</th></tr>${rows}</table>`;
    })
    .join("");
}

/** Alert codes whose subject is a project (drill-down to the sector service). */
const PROJECT_ALERTS = new Set([1, 2, 3, 4]);

async function drillDown(sector: number, code: string) {
  const box = document.getElementById("drill");
  if (!box) return;
  try {
    const res = await client.getSectorProject({ sector, code });
    const p = res.project;
    const rows = res.progress
      .map(
        (r) => `<tr><td>${r.period?.year}-${String(r.period?.month ?? 0).padStart(2, "0")}</td>
          <td class="num">${esc(money(r.investmentCompletedYuan))}</td>
          <td class="num">${esc(money(r.fundsArrivedYuan))}</td></tr>`,
      )
      .join("");
    box.innerHTML = `<h3>${esc(p?.name ?? code)} <small>${esc(code)} · ${esc(res.responsibleUnitName || (p?.responsibleUnit ?? ""))}</small></h3>
      <div class="drill-rows"><table><tr><th></th><th>${esc(t().counted)}</th><th>${esc(t().fundsArrived)}</th></tr>${rows}</table></div>`;
  } catch (err) {
    box.textContent = String(err);
  }
}

function alertItems(): string {
  return extras.alerts
    .map(
      (a) => `<li class="${a.color === AlertColor.RED ? "red" : "yellow"}${PROJECT_ALERTS.has(a.code) ? " project" : ""}"
        data-alert="${a.code}:${esc(a.subjectCode)}" data-sector="${a.sector}" data-code="${esc(a.subjectCode)}">
        <div class="what"><b>${esc(a.subjectName)}</b> ${esc(lang === "en" ? a.detailEn : a.detailZh)}</div>
        <div class="unit">${esc(a.responsibleUnit)}</div></li>`,
    )
    .join("");
}

function dateText(d: { year: number; month: number; day: number } | undefined): string {
  return d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "";
}

function updateReport() {
  const r = extras.report;
  if (!r) return;
  const rows = r.units
    .map(
      (u) => `<tr data-unit="${esc(u.responsibleUnit)}"><td>${u.rank}</td><td>${esc(u.responsibleUnit)}</td>
        <td class="num">${u.open}</td><td class="num red">${u.red}</td><td class="num">${u.newSinceLast}</td><td class="num">${u.clearedSinceLast}</td><td class="num red">${u.ordersOverdue}</td></tr>`,
    )
    .join("");
  fill("supervision-date", esc(dateText(r.date)));
  fill(
    "supervision-board",
    `<table><tr><th>#</th><th>${esc(t().unit)}</th><th>${esc(t().open)}</th><th>${esc(t().red)}</th><th>${esc(t().newSince)}</th><th>${esc(t().cleared)}</th><th>${esc(t().ordersOverdue)}</th></tr>${rows}</table>`,
  );
}

// The supervision orders: open ones by colour, overdue first (as
// ListOrders orders them), and the month's red and black lists.
function updateOrders() {
  const open = extras.orders.filter((o) => o.state !== OrderState.CLOSED);
  const count = (c: OrderColor) => open.filter((o) => o.color === c).length;
  const colour = (c: OrderColor) => (c === OrderColor.RED ? "red" : c === OrderColor.YELLOW ? "yellow" : "normal");
  const counts = document.getElementById("orders-counts");
  if (counts) counts.dataset.open = String(open.length);
  fill(
    "orders-counts",
    `${esc(t().ordersOpen)} <b>${open.length}</b> ·
      <span class="red">${esc(t().orderColours[3])} ${count(OrderColor.RED)}</span> ·
      <span class="yellow">${esc(t().orderColours[2])} ${count(OrderColor.YELLOW)}</span> ·
      ${esc(t().orderColours[1])} ${count(OrderColor.NORMAL)}`,
  );
  const rows = open
    .map(
      (o) => `<tr data-order="${esc(o.code)}" data-state="${o.state}" class="${colour(o.color)}">
        <td>${esc(o.responsibleUnit)}</td><td>${esc(o.subjectName || o.subjectCode)}</td>
        <td>${esc(dateText(o.due))}</td><td>${esc(t().orderStates[o.state] ?? "")}</td></tr>`,
    )
    .join("");
  fill(
    "orders-board",
    `<table><tr><th>${esc(t().unit)}</th><th>${esc(t().subject)}</th><th>${esc(t().due)}</th><th>${esc(t().state)}</th></tr>${rows}</table>`,
  );
  const list = (names: string[] | undefined) => esc(names && names.length ? names.join("、") : t().none);
  const s = extras.standings;
  fill("red-list", `${esc(t().redList)}：${list(s?.redList)}`);
  fill("black-list", `${esc(t().blackList)}：${list(s?.blackList)}`);
}

// The health line's notification part: shown only when a destination keeps failing.
function updateNotify() {
  const failing = extras.notify?.failing ?? [];
  const el = document.getElementById("notify");
  if (!el) return;
  el.dataset.failing = String(failing.length);
  el.hidden = failing.length === 0;
  const names = failing.map((d) => `${d.unitCode}（${t().destinationKinds[d.kind] ?? ""}）`);
  fill("notify", `${esc(t().notifyFailing)} ${esc(names.join("、"))}`);
}

// The credential's warnings: a week before the token expires, after it, and
// when a token in the address was refused in favour of the saved one.
function updateExpiry() {
  const el = document.getElementById("expiry");
  if (!el) return;
  const w = credential.expiryWarning();
  const when = credential.expiry();
  const texts = [];
  if (w === "soon" && when) texts.push(t().expiresSoon(when.toLocaleDateString("zh-CN")));
  if (w === "expired") texts.push(t().expired);
  if (credential.addressTokenRefused) texts.push(t().urlTokenRefused);
  el.hidden = texts.length === 0;
  el.dataset.warning = w ?? (credential.addressTokenRefused ? "address" : "");
  fill("expiry", esc(texts.join("；")));
}

// When the figures were last updated, and whether the page still hears the
// aggregator: a wall screen must never show old numbers as live.
let lastUpdate: Date | undefined;
let lastHeard = 0;
let connected = false;

function clock(d: Date | undefined): string {
  return d ? d.toLocaleTimeString("zh-CN", { hour12: false }) : "—";
}

function showLive() {
  const el = document.getElementById("live");
  if (!el) return;
  const stale = (overview?.staleFeeds ?? []).map((f) => t().sectors[f.sector] ?? "").filter(Boolean);
  const state = !connected ? (lastUpdate ? "disconnected" : "connecting") : stale.length ? "stale" : "live";
  const text =
    state === "disconnected"
      ? t().disconnected
      : state === "connecting"
        ? t().connecting
        : state === "stale"
          ? `${stale.join("、")} ${t().stale}`
          : t().live;
  el.className = state;
  el.dataset.state = state;
  fill("live", `${esc(text)} <span id="updated">${esc(t().updatedAt)} ${esc(clock(lastUpdate))}</span>`);
}

// The alerts no sector panel holds (the city's own indicators): counted in
// the header, so shown here.
function updateCityAlerts() {
  const city = extras.alerts.filter((a) => a.sector === Sector.CITY);
  const red = city.filter((a) => a.color === AlertColor.RED).length;
  const card = document.getElementById("city-alerts");
  if (card) {
    card.dataset.red = String(red);
    card.dataset.yellow = String(city.length - red);
  }
  fill(
    "city-alerts-title",
    `${esc(t().cityAlerts)} <span class="red">${red}</span> / <span class="yellow">${city.length - red}</span>`,
  );
  const items = city
    .map((a) => `<li class="${a.color === AlertColor.RED ? "red" : "yellow"}">${esc(lang === "en" ? a.detailEn : a.detailZh)}</li>`)
    .join("");
  fill("city-alert-list", items || `<li>${esc(t().none)}</li>`);
}

const initial = chosen(params);
let layout: Layout = initial.layout;
let rotation: number | undefined;

// The page's frame, made once (and again only when the language changes):
// the header, then each layout's cards with their chart boxes.
function mount() {
  const app = document.getElementById("app");
  if (!app) return;
  const tabs = LAYOUTS.map((l) => `<button data-screen="${l}">${esc(t().screens[l] ?? l)}</button>`).join("");
  app.innerHTML = `<div id="stage" class="stage">
    <header>
      <h1 id="title"></h1>
      <div class="progress"><span id="time-progress"></span><div class="bar"><div id="time-bar"></div></div></div>
      <nav id="screens">${tabs}</nav>
      <div id="live"></div>
      <div id="notify" class="stale" data-failing="0" hidden></div>
      <div id="expiry" class="warning" hidden></div>
      <div id="notice" class="warning" hidden></div>
      <button id="lang">${esc(t().lang)}</button>
    </header>
    <div class="layout" data-layout="overview">
      <div class="top"><div id="headlines"></div>
        <section class="card" id="city-alerts"><h2 id="city-alerts-title"></h2>
          <div class="board"><ul class="city-alerts" id="city-alert-list"></ul></div></section></div>
      <div id="sectors"></div>
    </div>
    <div class="layout" data-layout="projects">
      <section class="card" id="funnel"><h2>${esc(t().funnel)}</h2><div class="chart" id="funnel-chart"></div></section>
      <section class="card" id="investment"><h2>${esc(t().investment)}</h2><div class="chart" id="investment-chart"></div>
        <div id="investment-text"></div></section>
      <section class="card" id="promotion"><h2>${esc(t().promotion)}</h2><div class="chart" id="promotion-chart"></div>
        <div id="promotion-text"></div></section>
      <section class="card" id="ranking"><h2>${esc(t().ranking)}</h2><div class="board" id="ranking-board"></div></section>
      <section class="card" id="alerts"><h2 id="alerts-title"></h2>
        <div class="board"><ul class="alerts" id="alert-list"></ul></div><div id="drill"></div></section>
    </div>
    <div class="layout" data-layout="supervision">
      <section class="card" id="orders"><h2>${esc(t().orders)}</h2><div class="sub" id="orders-counts" data-open="0"></div>
        <div class="board" id="orders-board"></div>
        <div class="sub" id="red-list"></div><div class="sub" id="black-list"></div></section>
      <section class="card" id="reporting"><h2>${esc(t().reporting)}</h2><div class="sub" id="reporting-counts"></div>
        <div class="board" id="reporting-board"></div></section>
      <section class="card" id="supervision"><h2>${esc(t().supervision)}</h2><div class="sub" id="supervision-date"></div>
        <div class="board" id="supervision-board"></div></section>
      <section class="card" id="brief"><h2>${esc(t().brief)}</h2><div class="board" id="brief-board"></div></section>
    </div>
  </div>`;
  const stage = document.getElementById("stage");
  if (!stage) return;
  scale = fit(stage);
  show(stage, layout);
  document.getElementById("lang")?.addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    remount();
    void refreshExtras().then(update);
  });
  document.getElementById("screens")?.addEventListener("click", (e) => {
    const b = (e.target as HTMLElement).closest<HTMLElement>("button[data-screen]");
    if (!b) return;
    window.clearInterval(rotation);
    rotation = undefined;
    choose(b.dataset.screen as Layout);
  });
  // One listener for every alert, whatever the list holds now.
  document.getElementById("alert-list")?.addEventListener("click", (e) => {
    const li = (e.target as HTMLElement).closest<HTMLElement>("li.project");
    if (li) void drillDown(Number(li.dataset.sector), li.dataset.code ?? "");
  });
  mountedCodes = "";
  mountedSectors = "";
  showLive();
}

function remount() {
  disposeCharts();
  written.clear();
  mount();
}

function choose(l: Layout) {
  layout = l;
  const stage = document.getElementById("stage");
  if (stage) show(stage, l);
  // The layout's charts are drawn now that their boxes have a size.
  update();
  const p = new URLSearchParams(window.location.search);
  p.set("screen", l);
  window.history.replaceState(null, "", `${window.location.pathname}?${p}`);
}

let mountedCodes = "";
let mountedSectors = "";

// Brings every part of the page to the overview and extras held now.
function update() {
  const o = overview;
  if (!o) return;
  const m = o.period?.month ?? 0;
  fill("title", `${esc(t().title)} · ${o.period?.year ?? ""}年${esc(t().months(m))}`);
  fill("time-progress", `${esc(t().timeProgress)} ${percent(o.timeProgress)}`);
  const bar = document.getElementById("time-bar");
  if (bar) bar.style.width = `${(o.timeProgress * 100).toFixed(1)}%`;

  // The headlines and the sector panels are made again only when the set of
  // them changes (never on an update of their figures).
  const codes = o.cityIndicators.map((s) => s.definition?.code ?? "");
  if (codes.join("|") !== mountedCodes) {
    disposeCharts("gauge-");
    disposeCharts("trend-");
    const box = document.getElementById("headlines");
    if (box) {
      box.innerHTML = codes.map(headlineFrame).join("");
      box.style.setProperty("--count", String(Math.max(1, codes.length)));
    }
    [...written.keys()].filter((k) => k.startsWith("hl-")).forEach((k) => written.delete(k));
    mountedCodes = codes.join("|");
  }
  const sectors = o.sectors.map((s) => s.sector);
  if (sectors.join("|") !== mountedSectors) {
    const box = document.getElementById("sectors");
    if (box) box.innerHTML = sectors.map(sectorFrame).join("");
    [...written.keys()].filter((k) => k.startsWith("sector-")).forEach((k) => written.delete(k));
    mountedSectors = sectors.join("|");
  }
  o.cityIndicators.forEach(updateHeadline);
  extras.trends.forEach(drawTrend);
  updateCityAlerts();
  o.sectors.forEach(updateSector);

  const inv = o.investment;
  const p = o.promotion;
  fill(
    "investment-text",
    `<div class="sub"><span id="counted">${esc(t().counted)} ${esc(money(inv?.countedYuan ?? 0n))}</span> ·
      <span id="uncounted">${esc(t().uncounted)} ${esc(money(inv?.uncountedYuan ?? 0n))}</span></div>
    <div class="sub">${esc(t().startRate)} <b id="start-rate">${percent(rateValue(inv?.startRate))}</b> ·
      ${esc(t().resumptionRate)} <b id="resumption-rate">${percent(rateValue(inv?.resumptionRate))}</b></div>
    ${whatIfLine()}`,
  );
  fill(
    "promotion-text",
    `<div class="sub">${esc(t().signed)} <b id="signed">${p?.signed ?? 0}</b> · ${esc(t().fundsArrived)}
      <b>${esc(money(p?.fundsArrivedYuan ?? 0n))}</b></div>`,
  );
  drawProjectCharts(o);
  fill("ranking-board", rankingTables());
  fill("alerts-title", `${esc(t().alerts)} <span class="red">${o.redAlerts}</span> / <span class="yellow">${o.yellowAlerts}</span>`);
  fill("alert-list", alertItems());

  updateOrders();
  updateReporting();
  updateReport();
  fill("brief-board", extras.brief.split("\n").map((line) => `<p>${esc(line) || "&nbsp;"}</p>`).join(""));

  updateNotify();
  updateExpiry();
  showLive();
  document.body.dataset.charts = String(charts.size);
  document.body.dataset.rendered = String(o.dataVersion);
}

async function refreshExtras() {
  const period = overview?.period;
  const codes = (overview?.cityIndicators ?? []).map((s) => s.definition?.code ?? "").filter(Boolean);
  const [alerts, funnel, ranking, report, brief, trends, whatIf, orders, standings, reporting, notify] = await Promise.all([
    client.listAlerts({ period }),
    client.getFunnel({ period }),
    client.getRegionRanking({ period }),
    // The report of the period's last day, so the ranking matches the overview.
    client.getSupervisionReport({ date: overview?.asOf }).catch(() => undefined),
    client.getBrief({ period, language: lang }),
    Promise.all(codes.map((indicatorCode) => client.getTrend({ indicatorCode, period }).catch(() => undefined))),
    client.getStatisticsWhatIf({ period }).catch(() => undefined),
    ordersClient.listOrders({ pageSize: 200 }).catch(() => undefined),
    ordersClient.getUnitStandings({ period }).catch(() => undefined),
    client.getReporting({ period }).catch(() => undefined),
    notificationsClient.getNotificationHealth({}).catch(() => undefined),
  ]);
  extras = {
    alerts: alerts.alerts,
    funnel: funnel.rows,
    ranking: ranking.rankings,
    report: report?.report,
    brief: brief.text,
    trends: trends.filter((x): x is GetTrendResponse => x !== undefined),
    whatIf,
    orders: orders?.orders ?? [],
    standings,
    reporting,
    notify,
  };
}

function showNotice(text: string) {
  const el = document.getElementById("notice");
  if (!el) return;
  el.hidden = text === "";
  el.textContent = text;
}

/** How long the stream may be silent before the page asks whether the aggregator is still there. */
const PROBE_MS = 4000;
/**
 * After this many updates the page opens a fresh stream (the aggregator sends
 * the whole overview on connect, so nothing is missed). connect-web races
 * every read of a stream against a promise that settles only when the stream
 * ends, which keeps a little memory per message for as long as the stream
 * lives; a screen that runs for months must not keep one stream for ever.
 */
const RENEW_AFTER = 500;
let stream: AbortController | undefined;

// A stream only speaks when the figures change, and a dead connection can
// stay silent: so a quiet page asks for the overview now and then, and if
// that fails it shows itself disconnected and starts the stream again.
async function probe() {
  if (!connected || Date.now() - lastHeard < PROBE_MS) return;
  try {
    await client.getOverview({}, { timeoutMs: PROBE_MS });
    lastHeard = Date.now();
  } catch {
    connected = false;
    showLive();
    stream?.abort();
  }
}

async function follow() {
  let delay = 500;
  for (;;) {
    stream = new AbortController();
    let renewing = false;
    let messages = 0;
    try {
      for await (const res of client.watchOverview({}, { signal: stream.signal })) {
        delay = 500;
        if (++messages >= RENEW_AFTER) {
          renewing = true;
          stream.abort();
        }
        connected = true;
        showNotice("");
        lastUpdate = new Date();
        lastHeard = Date.now();
        overview = res.overview;
        await refreshExtras();
        update();
      }
    } catch (err) {
      const code = err instanceof ConnectError ? err.code : undefined;
      if (!renewing && (code === Code.Unauthenticated || code === Code.PermissionDenied)) {
        if (credential.refused()) {
          updateExpiry();
          continue;
        }
        showNotice(t().tokenNeeded);
        // A screen whose token ran out is refused: say that it expired, not only that a token is needed.
        updateExpiry();
      }
    }
    // The page ended this stream itself to open a fresh one: still connected.
    if (renewing) continue;
    // Ended or broken: the figures on screen are the last ones heard.
    connected = false;
    showLive();
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5_000);
  }
}

mount();
startBoards();
if (initial.rotateSeconds > 0) {
  rotation = window.setInterval(() => choose(next(layout)), initial.rotateSeconds * 1000);
}
window.setInterval(() => void probe(), 2000);
// An hour's check of the token's expiry, for a screen that sees no update.
window.setInterval(updateExpiry, 3600 * 1000);
window.addEventListener("resize", () => {
  const s = document.getElementById("stage");
  if (s) scale = fit(s);
  charts.forEach((c) => c.resize());
  // A phone turned into a wide window (or back) may show charts not drawn yet.
  update();
});
void follow();
