// The citydash wall screen. It reads the aggregator through grpc-web (the
// same CityService contract any front end uses), follows WatchOverview so a
// pushed update appears without a reload, and draws with Apache ECharts.

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

echarts.use([BarChart, GaugeChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

// The viewer token comes in the URL (?token=…, as `citydash demo` prints it)
// and is remembered by this browser; every call sends it.
const params = new URLSearchParams(window.location.search);
const token = params.get("token") ?? window.localStorage.getItem("citydash-token");
if (token) window.localStorage.setItem("citydash-token", token);
function hex(bytes: number): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// Every call carries the viewer token and starts a W3C trace, which the
// aggregator (and a sector service behind a drill-down) continue.
const bearer: Interceptor = (next) => async (req) => {
  if (token) req.header.set("authorization", `Bearer ${token}`);
  req.header.set("traceparent", `00-${hex(16)}-${hex(8)}-01`);
  return next(req);
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
const charts = new Map<string, echarts.ECharts>();

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

function chart(id: string): echarts.ECharts | undefined {
  const el = document.getElementById(id);
  if (!el) return undefined;
  let c = charts.get(id);
  if (!c || c.getDom() !== el) {
    c = echarts.init(el, undefined, { renderer: "canvas" });
    charts.set(id, c);
  }
  return c;
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
  const monthly = o.requiredMonthly === undefined ? "" : ` · ${t().monthlyNeeded} ${am(o.requiredMonthly)}`;
  return `<div class="sub landing" data-landing="${e}" data-outlook-verdict="${o.verdict}">
      ${esc(t().landing)} ${esc(am(e))}（${percent(share)}）${esc(monthly)} · ${esc(t().outlookVerdict[o.verdict] ?? "—")}</div>`;
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

function headline(s: IndicatorStatus): string {
  const c = rateValue(s.completion);
  const colour = VERDICT_COLOURS[s.verdict] ?? "#7f8c8d";
  return `
    <section class="card headline" data-indicator="${esc(s.definition?.code ?? "")}" data-verdict="${s.verdict}">
      <h2>${esc(name(s.definition))}</h2>
      <div class="amount-line"><span class="amount">${esc(indicatorAmount(s))}</span>${provisional(s)}</div>
      <div class="sub">${esc(growth(s))}</div>
      <div class="gauge" id="gauge-${esc(s.definition?.code ?? "")}"></div>
      <div class="sub"><span class="dot" style="background:${colour}"></span>
        <span class="completion">${esc(t().completion)} ${percent(c)}</span>
        · ${esc(t().timeProgress)} ${percent(s.timeProgress)}</div>
      ${landing(s)}
      <div class="trend" id="trend-${esc(s.definition?.code ?? "")}"></div>
    </section>`;
}

// The year as a curve (亿元 for money): the actual by month, last year's
// curve, the straight time-progress line to the target, and the projected
// path to the year-end landing.
function drawTrend(trend: GetTrendResponse) {
  const code = trend.definition?.code ?? "";
  const c = chart(`trend-${code}`);
  if (!c) return;
  const money = trend.definition?.unit === "yuan";
  const scale = (v: bigint | undefined) => (v === undefined ? null : money ? Number(v) / 1e8 : Number(v));
  const line = (name: string, points: { month: number; value?: bigint }[], colour: string, dashed = false) => ({
    name,
    type: "line",
    data: points.map((p) => [p.month, scale(p.value)]),
    connectNulls: true,
    showSymbol: false,
    lineStyle: { color: colour, type: dashed ? "dashed" : "solid", width: 2 },
    itemStyle: { color: colour },
  });
  const series = [
    line(t().trendActual, trend.actual, "#2ecc71"),
    line(t().trendLastYear, trend.lastYear, "#8b949e"),
    line(t().timeProgress, trend.timeProgress, "#1f6feb", true),
    line(t().landing, trend.projected, "#f1c40f", true),
  ];
  c.setOption({
    grid: { left: 40, right: 10, top: 24, bottom: 20 },
    legend: { top: 0, textStyle: { color: "#8b949e", fontSize: 10 }, itemWidth: 12, itemHeight: 6 },
    tooltip: { trigger: "axis" },
    xAxis: {
      type: "value",
      min: 1,
      max: 12,
      interval: 1,
      axisLabel: { color: "#8b949e", fontSize: 10 },
      splitLine: { lineStyle: { color: "#21262d" } },
    },
    yAxis: { type: "value", axisLabel: { color: "#8b949e", fontSize: 10 }, splitLine: { lineStyle: { color: "#21262d" } } },
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
    series: [
      {
        type: "gauge",
        min: 0,
        max: 100,
        radius: "95%",
        progress: { show: true, width: 10, itemStyle: { color: VERDICT_COLOURS[s.verdict] } },
        axisLine: { lineStyle: { width: 10, color: [[s.timeProgress, "#1f6feb"], [1, "#30363d"]] } },
        axisTick: { show: false },
        splitLine: { show: false },
        axisLabel: { show: false },
        pointer: { show: false },
        detail: { valueAnimation: false, formatter: "{value}%", color: "#e6edf3", fontSize: 18, offsetCenter: [0, "10%"] },
        data: [{ value }],
      },
    ],
  });
}

function sectorPanel(s: SectorSummary): string {
  const inv = s.investment;
  const stale = s.feed?.stale ? `<span class="stale">${esc(t().stale)}</span>` : "";
  const rows = s.indicators
    .map(
      (i) => `<tr data-indicator="${esc(i.definition?.code ?? "")}">
        <td>${esc(name(i.definition))}</td><td class="num">${esc(indicatorAmount(i))}${provisional(i)}</td>
        <td class="num">${percent(rateValue(i.completion))}</td>
        <td><span class="dot" style="background:${VERDICT_COLOURS[i.verdict] ?? "#7f8c8d"}"></span></td></tr>`,
    )
    .join("");
  const figures = s.figures
    .map((f) => `<li data-figure="${esc(f.code)}"><span>${esc(lang === "en" ? f.labelEn : f.labelZh)}</span>
      <b>${esc(amount(f.value, f.unit, f.unitZh, lang === "en"))}</b></li>`)
    .join("");
  return `
    <section class="card sector" data-sector="${s.sector}">
      <h2>${esc(t().sectors[s.sector] ?? "")} ${stale}</h2>
      <div class="alerts-count"><span class="red">${esc(t().red)} ${s.redAlerts}</span>
        <span class="yellow">${esc(t().yellow)} ${s.yellowAlerts}</span></div>
      <table>${rows}</table>
      <ul class="figures">${figures}</ul>
      <div class="sub">${esc(t().counted)} ${esc(amount(inv?.countedYuan ?? 0n, "yuan", "元", lang === "en"))}
        · ${esc(t().startRate)} ${percent(rateValue(inv?.startRate))}</div>
      <div class="sub" data-reporting="${s.reporting?.missing ?? 0}">${reportingFigures(s.reporting)}</div>
    </section>`;
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
function reportingPanel(): string {
  const r = extras.reporting;
  if (!r) return "";
  const total = r.total;
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
  return `<div class="sub" id="reporting-counts" data-overdue="${r.overdueAgencies}">${esc(t().reportingMonth(r.period?.month ?? 0))}
      · ${esc(t().completeness)} <b>${percent(rateValue(total?.completeness))}</b>
      · ${esc(t().timeliness)} <b>${percent(rateValue(total?.timeliness))}</b>
      · <span class="red">${esc(t().overdueAgencies)} ${r.overdueAgencies}</span></div>
    <div class="scroll"><table><tr><th>${esc(t().unit)}</th><th>${esc(t().sector)}</th><th>${esc(t().completeness)}</th>
      <th>${esc(t().timeliness)}</th><th>${esc(t().missing)}</th><th>${esc(t().state)}</th></tr>${rows}</table></div>`;
}

function funnelTotals(rows: FunnelRow[]): number[] {
  return [1, 2, 3, 4, 6, 7].map((stage) => rows.reduce((sum, r) => sum + (r.reached[stage] ?? 0), 0));
}

function drawCharts(o: Overview) {
  o.cityIndicators.forEach(drawGauge);
  extras.trends.forEach(drawTrend);
  const totals = funnelTotals(extras.funnel);
  chart("funnel-chart")?.setOption({
    grid: { left: 90, right: 30, top: 10, bottom: 20 },
    xAxis: { type: "value", axisLabel: { color: "#8b949e" }, splitLine: { lineStyle: { color: "#21262d" } } },
    yAxis: { type: "category", inverse: true, data: t().stages, axisLabel: { color: "#e6edf3" } },
    series: [{ type: "bar", data: totals, itemStyle: { color: "#1f6feb" }, label: { show: true, position: "right", color: "#e6edf3" } }],
  });
  const inv = o.investment;
  chart("investment-chart")?.setOption({
    tooltip: {},
    legend: { bottom: 0, textStyle: { color: "#e6edf3" } },
    series: [
      {
        type: "pie",
        radius: ["40%", "70%"],
        label: { color: "#e6edf3" },
        data: [
          { name: t().counted, value: Number(inv?.countedYuan ?? 0n) / 1e4, itemStyle: { color: "#2ecc71" } },
          { name: t().uncounted, value: Number(inv?.uncountedYuan ?? 0n) / 1e4, itemStyle: { color: "#e74c3c" } },
        ],
      },
    ],
  });
  const p = o.promotion;
  const rates = [p?.startRate, p?.fulfilmentRate, p?.fundsArrivalRate].map((r) => Math.round((rateValue(r) ?? 0) * 1000) / 10);
  chart("promotion-chart")?.setOption({
    grid: { left: 40, right: 20, top: 20, bottom: 30 },
    xAxis: { type: "category", data: [t().promotionStart, t().fulfilment, t().fundsArrival], axisLabel: { color: "#e6edf3" } },
    yAxis: { type: "value", max: 100, axisLabel: { color: "#8b949e", formatter: "{value}%" }, splitLine: { lineStyle: { color: "#21262d" } } },
    series: [{ type: "bar", data: rates, itemStyle: { color: "#a371f7" }, label: { show: true, position: "top", color: "#e6edf3", formatter: "{c}%" } }],
  });
}

function rankingTable(): string {
  return extras.ranking
    .map((r) => {
      const rows = r.places
        .map(
          (p) => `<tr data-region="${esc(p.regionCode)}"><td>${esc(p.regionNameZh)}</td>
          <td class="num">${p.published ? esc(amount(p.amount, r.definition?.unit ?? "", r.definition?.unitZh ?? "", lang === "en")) : esc(t().unpublished)}</td>
          <td class="num">${p.published ? p.amountRank : "—"}</td><td class="num">${p.growthRank > 0 ? p.growthRank : "—"}</td></tr>`,
        )
        .join("");
      return `<h3>${esc(name(r.definition))}</h3><table data-ranking="${esc(r.definition?.code ?? "")}">
        <tr><th>${esc(t().region)}</th><th></th><th>${esc(t().amountRank)}</th><th>${esc(t().growthRank)}</th></tr>${rows}</table>`;
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
          <td class="num">${esc(amount(r.investmentCompletedYuan, "yuan", "元", lang === "en"))}</td>
          <td class="num">${esc(amount(r.fundsArrivedYuan, "yuan", "元", lang === "en"))}</td></tr>`,
      )
      .join("");
    box.innerHTML = `<h3>${esc(p?.name ?? code)} <small>${esc(code)} · ${esc(res.responsibleUnitName || (p?.responsibleUnit ?? ""))}</small></h3>
      <table><tr><th></th><th>${esc(t().counted)}</th><th>${esc(t().fundsArrived)}</th></tr>${rows}</table>`;
  } catch (err) {
    box.textContent = String(err);
  }
}

function alertList(): string {
  return extras.alerts
    .map(
      (a) => `<li class="${a.color === AlertColor.RED ? "red" : "yellow"}${PROJECT_ALERTS.has(a.code) ? " project" : ""}"
        data-alert="${a.code}:${esc(a.subjectCode)}" data-sector="${a.sector}" data-code="${esc(a.subjectCode)}">
        <b>${esc(a.subjectName)}</b> ${esc(lang === "en" ? a.detailEn : a.detailZh)}
        <span class="unit">${esc(a.responsibleUnit)}</span></li>`,
    )
    .join("");
}

function reportTable(): string {
  const r = extras.report;
  if (!r) return "";
  const d = r.date;
  const rows = r.units
    .map(
      (u) => `<tr data-unit="${esc(u.responsibleUnit)}"><td>${u.rank}</td><td>${esc(u.responsibleUnit)}</td>
        <td class="num">${u.open}</td><td class="num red">${u.red}</td><td class="num">${u.newSinceLast}</td><td class="num">${u.clearedSinceLast}</td><td class="num red">${u.ordersOverdue}</td></tr>`,
    )
    .join("");
  return `<div class="sub">${d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : ""}</div>
    <table><tr><th>#</th><th>${esc(t().unit)}</th><th>${esc(t().open)}</th><th>${esc(t().red)}</th><th>${esc(t().newSince)}</th><th>${esc(t().cleared)}</th><th>${esc(t().ordersOverdue)}</th></tr>${rows}</table>`;
}

function dateText(d: { year: number; month: number; day: number } | undefined): string {
  return d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "";
}

// The supervision orders: open ones by colour, overdue first (as
// ListOrders orders them), and the month's red and black lists.
function ordersPanel(): string {
  const open = extras.orders.filter((o) => o.state !== OrderState.CLOSED);
  const count = (c: OrderColor) => open.filter((o) => o.color === c).length;
  const colour = (c: OrderColor) => (c === OrderColor.RED ? "red" : c === OrderColor.YELLOW ? "yellow" : "normal");
  const rows = open
    .map(
      (o) => `<tr data-order="${esc(o.code)}" data-state="${o.state}" class="${colour(o.color)}">
        <td>${esc(o.responsibleUnit)}</td><td>${esc(o.subjectName || o.subjectCode)}</td>
        <td>${esc(dateText(o.due))}</td><td>${esc(t().orderStates[o.state] ?? "")}</td></tr>`,
    )
    .join("");
  const list = (names: string[] | undefined) => esc(names && names.length ? names.join("、") : t().none);
  const s = extras.standings;
  return `<div class="sub" id="orders-counts" data-open="${open.length}">${esc(t().ordersOpen)} <b>${open.length}</b> ·
      <span class="red">${esc(t().orderColours[3])} ${count(OrderColor.RED)}</span> ·
      <span class="yellow">${esc(t().orderColours[2])} ${count(OrderColor.YELLOW)}</span> ·
      ${esc(t().orderColours[1])} ${count(OrderColor.NORMAL)}</div>
    <div class="scroll"><table><tr><th>${esc(t().unit)}</th><th>${esc(t().subject)}</th><th>${esc(t().due)}</th><th>${esc(t().state)}</th></tr>${rows}</table></div>
    <div class="sub" id="red-list">${esc(t().redList)}：${list(s?.redList)}</div>
    <div class="sub" id="black-list">${esc(t().blackList)}：${list(s?.blackList)}</div>`;
}

// The health line's notification part: shown only when a destination keeps failing.
function notifyLine(): string {
  const failing = extras.notify?.failing ?? [];
  const names = failing.map((d) => `${d.unitCode}（${t().destinationKinds[d.kind] ?? ""}）`);
  return `<div id="notify" data-failing="${failing.length}" class="stale"${failing.length ? "" : " hidden"}>${esc(t().notifyFailing)} ${esc(names.join("、"))}</div>`;
}

// When the figures were last updated, and whether the page still hears the
// aggregator: a wall screen must never show old numbers as live.
let lastUpdate: Date | undefined;
let connected = false;

function clock(d: Date | undefined): string {
  return d ? d.toLocaleTimeString("zh-CN", { hour12: false }) : "—";
}

function liveBadge(): string {
  const o = overview;
  const stale = (o?.staleFeeds ?? []).map((f) => t().sectors[f.sector] ?? "").filter(Boolean);
  const state = !connected ? "disconnected" : stale.length ? "stale" : "live";
  const text =
    state === "disconnected" ? t().disconnected : state === "stale" ? `${stale.join("、")} ${t().stale}` : t().live;
  return `<div id="live" class="${state}" data-state="${state}">${esc(text)}
    <span id="updated">${esc(t().updatedAt)} ${esc(clock(lastUpdate))}</span>
    <span id="data-version">${o?.dataVersion ?? ""}</span></div>`;
}

// The alerts no sector panel holds (the city's own indicators): counted in
// the header, so shown here.
function cityAlerts(): string {
  const city = extras.alerts.filter((a) => a.sector === Sector.CITY);
  const red = city.filter((a) => a.color === AlertColor.RED).length;
  const items = city
    .map((a) => `<li class="${a.color === AlertColor.RED ? "red" : "yellow"}">${esc(lang === "en" ? a.detailEn : a.detailZh)}</li>`)
    .join("");
  return `<section class="card" id="city-alerts" data-red="${red}" data-yellow="${city.length - red}">
      <h2>${esc(t().cityAlerts)} <span class="red">${red}</span> / <span class="yellow">${city.length - red}</span></h2>
      <ul class="city-alerts">${items || `<li>${esc(t().none)}</li>`}</ul></section>`;
}

// Redraws only the badge (the stream broke: the rest of the page keeps its last figures).
function showLive() {
  const el = document.getElementById("live");
  if (el) el.outerHTML = liveBadge();
}

function render() {
  const o = overview;
  const app = document.getElementById("app");
  if (!o || !app) return;
  const m = o.period?.month ?? 0;
  const inv = o.investment;
  const p = o.promotion;
  const stale = o.staleFeeds.map((f) => t().sectors[f.sector] ?? "").filter(Boolean);
  app.innerHTML = `
    <header>
      <h1>${esc(t().title)} · ${o.period?.year ?? ""}年${esc(t().months(m))}</h1>
      <div class="progress"><span>${esc(t().timeProgress)} ${percent(o.timeProgress)}</span>
        <div class="bar"><div style="width:${(o.timeProgress * 100).toFixed(1)}%"></div></div></div>
      ${liveBadge()}
      ${notifyLine()}
      <button id="lang">${esc(t().lang)}</button>
    </header>
    <div class="row headlines">${o.cityIndicators.map(headline).join("")}${cityAlerts()}</div>
    <div class="row">
      <section class="card"><h2>${esc(t().funnel)}</h2><div class="chart" id="funnel-chart"></div></section>
      <section class="card" id="investment"><h2>${esc(t().investment)}</h2>
        <div class="chart" id="investment-chart"></div>
        <div class="sub"><span id="counted">${esc(t().counted)} ${esc(amount(inv?.countedYuan ?? 0n, "yuan", "元", lang === "en"))}</span> ·
          <span id="uncounted">${esc(t().uncounted)} ${esc(amount(inv?.uncountedYuan ?? 0n, "yuan", "元", lang === "en"))}</span></div>
        <div class="sub">${esc(t().startRate)} <b id="start-rate">${percent(rateValue(inv?.startRate))}</b> ·
          ${esc(t().resumptionRate)} <b id="resumption-rate">${percent(rateValue(inv?.resumptionRate))}</b></div>
        ${whatIfLine()}</section>
      <section class="card" id="promotion"><h2>${esc(t().promotion)}</h2><div class="chart" id="promotion-chart"></div>
        <div class="sub">${esc(t().signed)} <b id="signed">${p?.signed ?? 0}</b> · ${esc(t().fundsArrived)}
          <b>${esc(amount(p?.fundsArrivedYuan ?? 0n, "yuan", "元", lang === "en"))}</b></div></section>
    </div>
    <div class="row sectors">${o.sectors.map(sectorPanel).join("")}</div>
    <div class="row">
      <section class="card" id="ranking"><h2>${esc(t().ranking)}</h2>${rankingTable()}</section>
      <section class="card" id="alerts"><h2>${esc(t().alerts)} <span class="red">${o.redAlerts}</span> / <span class="yellow">${o.yellowAlerts}</span></h2>
        <ul class="alerts">${alertList()}</ul><div id="drill"></div></section>
      <section class="card" id="supervision"><h2>${esc(t().supervision)}</h2>${reportTable()}</section>
      <section class="card" id="orders"><h2>${esc(t().orders)}</h2>${ordersPanel()}</section>
      <section class="card" id="reporting"><h2>${esc(t().reporting)}</h2>${reportingPanel()}</section>
    </div>
    <section class="card" id="brief"><h2>${esc(t().brief)}</h2><pre>${esc(extras.brief)}</pre></section>`;
  document.getElementById("lang")?.addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    void refreshExtras().then(render);
  });
  document.querySelectorAll<HTMLElement>("ul.alerts li.project").forEach((li) =>
    li.addEventListener("click", () => void drillDown(Number(li.dataset.sector), li.dataset.code ?? "")),
  );
  // The page was rebuilt: the old charts' elements are gone, so are they.
  charts.forEach((c) => c.dispose());
  charts.clear();
  drawCharts(o);
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

async function follow() {
  let delay = 500;
  for (;;) {
    try {
      for await (const res of client.watchOverview({})) {
        delay = 500;
        connected = true;
        lastUpdate = new Date();
        overview = res.overview;
        await refreshExtras();
        render();
      }
    } catch (err) {
      console.warn("overview stream ended", err);
      const code = err instanceof ConnectError ? err.code : undefined;
      if (code === Code.Unauthenticated || code === Code.PermissionDenied) {
        const app = document.getElementById("app");
        if (app) app.innerHTML = `<p class="loading">需要有效的查看令牌：请使用 citydash demo 打印的地址（…/?token=…）。A valid viewer token is required.</p>`;
      }
    }
    // Ended or broken: the figures on screen are the last ones heard.
    connected = false;
    showLive();
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
void follow();
