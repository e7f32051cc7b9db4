// Finance report: GET /v1/admin/reports/finance?from=&to=&bucket= — a table of totals and the take
// rate per currency, uPlot charts of the main figures per bucket, and the same query as CSV
// (Accept: text/csv) saved through a Blob. Every amount shown is the API's `display`; chart axes
// are formatted from integer minor units with integer arithmetic (BigInt), never floats.
import { alertBox, api, busy, el, empty, fill, money, table } from "./admin-common.js";
import { toast } from "./console.js";

const form = document.getElementById("finance-form");
const out = document.getElementById("finance-report");
const csvButton = document.getElementById("finance-csv");

export const FIGURES = {
  purchases: "Purchases",
  store_fees: "Store fees",
  revenue_recognised: "Revenue recognised",
  deferred_revenue: "Deferred revenue (at end)",
  creator_liability_held: "Creator liability, held (at end)",
  creator_liability_available: "Creator liability, available (at end)",
  creator_liability_in_payout: "Creator liability, in payout (at end)",
  payouts: "Payouts",
  cashout_fees: "Cash-out fees",
  refunds: "Refunds",
  chargebacks: "Chargebacks",
  receivables: "Receivables",
};
const CHARTS = [
  { title: "Flows per bucket", figures: ["purchases", "revenue_recognised", "store_fees", "payouts", "refunds"] },
  { title: "Balances at the end of each bucket", figures: ["deferred_revenue", "creator_liability_held", "creator_liability_available", "creator_liability_in_payout"] },
];
const COLOURS = ["#25d0c4", "#ff7a9a", "#fbbf24", "#a78bfa", "#4ade80", "#60a5fa"];
const INCRS = [];
for (let p = 1; p <= 1e14; p *= 10) INCRS.push(p, 2 * p, 5 * p);

const charts = [];

export function setup() {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  csvButton.addEventListener("click", () => busy(csvButton, download));
  new ResizeObserver(() => {
    for (const { plot, box } of charts) if (box.isConnected) plot.setSize(size(box));
  }).observe(out);
}

function query() {
  const q = new URLSearchParams();
  for (const name of ["from", "to", "bucket"]) {
    const value = form.elements[name].value;
    if (value) q.set(name, value);
  }
  return q;
}

export async function load() {
  out.setAttribute("aria-busy", "true");
  const r = await api(`/v1/admin/reports/finance?${query()}`);
  out.removeAttribute("aria-busy");
  for (const { plot } of charts.splice(0)) plot.destroy();
  if (!r.ok) {
    fill(out, alertBox(r.error));
    return;
  }
  const report = r.data;
  form.elements.from.value = report.from;
  form.elements.to.value = report.to;
  form.elements.bucket.value = report.bucket;
  const summary = el("p", { class: "hint" }, `From ${report.from} to ${report.to} (exclusive), by ${report.bucket}.`);
  if (report.currencies.length === 0) {
    fill(out, summary, empty("No money moved in this period."));
    return;
  }
  fill(out, summary, report.currencies.map((c) => currency(c, report.bucket)));
  for (const c of report.currencies) drawCharts(c);
}

function figureNames(totals) {
  return [...Object.keys(FIGURES).filter((f) => f in totals), ...Object.keys(totals).filter((f) => !(f in FIGURES))];
}

function currency(c, bucket) {
  const names = figureNames(c.totals);
  const chartBoxes = CHARTS.map((chart, i) => {
    const figures = chart.figures.filter((f) => f in c.totals);
    const box = el("div", { class: "chart-canvas", dataset: { currency: c.currency, chart: String(i) } });
    return el("figure", { class: "chart", "aria-label": `${chart.title}, ${c.currency} (the table below has the same figures)` },
      el("h4", {}, `${chart.title} (${c.currency})`), box, el("figcaption", { class: "sr-only" }, `${figures.map((f) => FIGURES[f]).join(", ")} per ${bucket}.`));
  });
  const perBucket = table(`${c.currency} figures per ${bucket}`,
    ["Start", ...names.map((f) => ({ label: FIGURES[f] ?? f, num: true })), { label: "Take rate", num: true }],
    c.buckets.map((b) => [b.start, ...names.map((f) => b.figures[f]?.display ?? ""), b.take_rate?.display ?? ""]));
  return el("section", { class: "currency", "aria-labelledby": `fin-${c.currency}` },
    el("h3", { id: `fin-${c.currency}` }, c.currency),
    el("p", {}, "Take rate: ", el("strong", { class: "take-rate amount", dataset: { takeRate: c.currency } }, c.take_rate.display),
      c.take_rate.creator_liability_accrued
        ? el("span", { class: "hint" }, ` (revenue recognised less the creator liability it accrued: ${money(c.take_rate.creator_liability_accrued)})`)
        : null),
    el("div", { class: "currency-grid" },
      table(`${c.currency} totals`, ["Figure", { label: `Total (${c.currency})`, num: true }],
        names.map((f) => [FIGURES[f] ?? f, el("span", { class: "amount", dataset: { figure: f, currency: c.currency } }, c.totals[f].display)]),
        { cards: false }),
      el("div", { class: "charts" }, chartBoxes)),
    el("details", {}, el("summary", {}, `Figures per ${bucket} (table)`), perBucket));
}

/** Decimal places of a currency, read from a display string the API gave ("12.34" → 2). */
function exponent(c) {
  const sample = Object.values(c.totals)[0]?.display ?? "";
  const dot = sample.indexOf(".");
  return dot < 0 ? 0 : sample.length - dot - 1;
}

/** Minor units → a major-unit label, with integer arithmetic only (123456, 2 → "1234.56"). */
export function major(value, exp) {
  let n = BigInt(Math.round(value));
  const negative = n < 0n;
  if (negative) n = -n;
  let text = n.toString();
  if (exp > 0) {
    text = text.padStart(exp + 1, "0");
    text = `${text.slice(0, -exp)}.${text.slice(-exp)}`;
  }
  return negative ? `-${text}` : text;
}

/** An axis's labels: the fraction is left out when every tick is a whole unit ("20", "40"). */
function axisLabels(splits, exp) {
  const labels = splits.map((y) => major(y, exp));
  if (exp === 0 || labels.some((l) => !l.endsWith(".".padEnd(exp + 1, "0")))) return labels;
  return labels.map((l) => l.slice(0, -(exp + 1)));
}

function size(box) {
  return { width: Math.max(240, box.clientWidth), height: 180 };
}

function drawCharts(c) {
  if (typeof uPlot === "undefined") return;
  const exp = exponent(c);
  const starts = c.buckets.map((b) => b.start.slice(0, 10));
  const xs = c.buckets.map((_, i) => i);
  CHARTS.forEach((chart, i) => {
    const box = out.querySelector(`.chart-canvas[data-currency="${CSS.escape(c.currency)}"][data-chart="${i}"]`);
    const figures = chart.figures.filter((f) => f in c.totals);
    if (!box || figures.length === 0) return;
    const axis = { stroke: "#b4bccb", grid: { stroke: "#2e3440", width: 1 }, ticks: { stroke: "#2e3440", width: 1 }, incrs: INCRS };
    const opts = {
      ...size(box),
      scales: { x: { time: false } },
      legend: { live: false },
      series: [
        { label: "Start", value: (u, v, s, idx) => (idx == null ? "—" : starts[idx]) },
        ...figures.map((f, n) => ({
          label: FIGURES[f],
          stroke: COLOURS[n % COLOURS.length],
          width: 2,
          points: { show: xs.length <= 14 },
          value: (u, v, s, idx) => (idx == null ? "—" : c.buckets[idx].figures[f].display),
        })),
      ],
      axes: [
        { ...axis, values: (u, splits) => splits.map((x) => starts[Math.round(x)] ?? "") },
        { ...axis, size: 80, values: (u, splits) => axisLabels(splits, exp) },
      ],
    };
    const data = [xs, ...figures.map((f) => c.buckets.map((b) => b.figures[f].amount_minor))];
    // eslint-disable-next-line no-undef
    charts.push({ plot: new uPlot(opts, data, box), box });
  });
}

async function download() {
  const q = query();
  const r = await api(`/v1/admin/reports/finance?${q}`, { accept: "text/csv" });
  if (!r.ok) {
    toast(r.error.message, "error");
    fill(out, alertBox(r.error));
    return;
  }
  const blob = new Blob([r.data], { type: "text/csv" });
  const url = URL.createObjectURL(blob);
  const name = `giftflow-finance-${q.get("from") ?? "last-30-days"}-${q.get("to") ?? "today"}-${q.get("bucket") ?? "day"}.csv`;
  const link = el("a", { href: url, download: name, class: "sr-only" }, name);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  toast(`Saved ${name}.`);
}
