// Analytics charts with the vendored uPlot (window.uPlot, loaded by the page): gift velocity per
// minute and follower growth (GET /v1/creators/{id}/analytics), coins and watch time per live
// (GET /v1/lives?creator_id=), top gifts. Every plotted value is an integer the API gave (gifts,
// whole coins, followers, seconds); the y axes tick on whole numbers only and label them with
// `integerText`, never a float format. Each chart has a summary for screen readers (role=img)
// and its figures as a table.

import { alertBox, api, duration, el, fill, integerText, me, refresher, tableWrap, when } from "./creator-common.js";

const INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000,
  25000, 50000, 100000, 200000, 250000, 500000, 1000000, 2000000, 5000000, 10000000, 100000000,
  1000000000, 10000000000, 100000000000, 1000000000000];
const HEIGHT = 220;

function css(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** The top of a y scale from 0: a whole multiple of a whole increment, with at most 5 steps. */
function niceTop(max) {
  const top = Math.max(1, Math.ceil(max));
  const step = INCREMENTS.find((inc) => Math.ceil(top / inc) <= 5) ?? INCREMENTS[INCREMENTS.length - 1];
  return Math.ceil(top / step) * step;
}

function chartOptions({ width, xs, labels, yLabel, bars, color }) {
  const muted = css("--muted", "#b4bccb");
  const line = css("--line", "#2e3440");
  const grid = { stroke: line, width: 1 };
  const indexed = Array.isArray(labels);
  const xAxis = { stroke: muted, grid, ticks: grid, font: "12px system-ui, sans-serif" };
  if (indexed) {
    xAxis.splits = () => xs;
    xAxis.values = (u, splits) => splits.map((i) => (Number.isInteger(i) ? labels[i] ?? "" : ""));
  }
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    hooks: {
      // the y axis's tick labels as drawn, for tests and for anyone inspecting the page
      draw: [(u) => {
        const ticks = u.axes[1]?._values;
        if (Array.isArray(ticks)) u.root.parentElement.dataset.yTicks = ticks.join("|");
      }],
    },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: indexed ? { time: false, range: () => [-0.5, xs.length - 0.5] } : { time: true },
      y: { range: (u, min, max) => [0, niceTop(max ?? 0)] },
    },
    axes: [
      xAxis,
      {
        stroke: muted, grid, ticks: grid, label: yLabel, labelSize: 20, size: 64,
        font: "12px system-ui, sans-serif", labelFont: "12px system-ui, sans-serif",
        incrs: INCREMENTS,
        values: (u, splits) => splits.map(integerText),
      },
    ],
    series: [
      { value: (u, v) => (indexed ? labels[v] ?? "" : when(new Date(v * 1000).toISOString())) },
      {
        label: yLabel,
        stroke: color,
        fill: `${color}33`,
        width: 2,
        spanGaps: false,
        points: { show: !bars, size: 5 },
        paths: bars ? window.uPlot.paths.bars({ size: [0.6, 48] }) : undefined,
        value: (u, v) => (v == null ? "—" : integerText(v)),
      },
    ],
  };
}

function table(caption, head, rows) {
  return tableWrap(caption, el("table", {},
    el("caption", { class: "sr-only" }, caption),
    el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { scope: "col", class: i > 0 ? "num" : "" }, h)))),
    el("tbody", {}, rows.length ? rows.map((cells) => el("tr", {}, cells.map((c, i) => (i === 0
      ? el("th", { scope: "row" }, c) : el("td", { class: "num" }, c)))))
      : el("tr", {}, el("td", { colspan: head.length, class: "hint" }, "No data yet.")))));
}

/** One chart's place on the page, built once and filled again on each refresh. */
class Slot {
  constructor(parent, id, title, color) {
    this.color = color;
    this.title = title;
    this.plot = null;
    this.summary = el("p", { class: "hint chart-summary", id: `${id}-summary` });
    this.area = el("div", { class: "chart-area", id: `${id}-chart` });
    this.data = el("div", { id: `${id}-table` });
    this.node = el("figure", { class: "chart", id, "aria-labelledby": `${id}-title` },
      el("figcaption", {}, el("h3", { id: `${id}-title` }, title), this.summary),
      this.area,
      el("details", {}, el("summary", {}, `${title}: figures as a table`), this.data));
    parent.append(this.node);
  }

  show({ summary, xs, ys, labels, yLabel, bars, tableNode }) {
    this.summary.textContent = summary;
    fill(this.data, tableNode);
    this.plot?.destroy();
    this.plot = null;
    const hasData = ys.some((v) => v !== null && v !== 0);
    if (!window.uPlot || xs.length === 0 || !hasData) {
      this.area.removeAttribute("role");
      this.area.removeAttribute("aria-label");
      fill(this.area, el("p", { class: "empty" }, "Nothing to plot yet."));
      return;
    }
    fill(this.area);
    this.area.setAttribute("role", "img");
    this.area.setAttribute("aria-label", `${this.title} chart. ${summary}`);
    const width = Math.max(240, this.area.clientWidth || 320);
    this.plot = new window.uPlot(chartOptions({ width, xs, labels, yLabel, bars, color: this.color }),
      [labels ? xs.map((_, i) => i) : xs, ys], this.area);
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: Math.max(240, this.area.clientWidth), height: HEIGHT });
  }

  error(error) {
    this.plot?.destroy();
    this.plot = null;
    this.summary.textContent = "";
    fill(this.area, alertBox(error));
    fill(this.data);
  }
}

const livesText = (n) => `${integerText(n)} ${n === 1 ? "live" : "lives"}`;
const seconds = (iso) => Math.trunc(Date.parse(iso) / 1000);
const shortTime = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

export function initCharts() {
  const box = document.getElementById("charts");
  const accent = css("--accent", "#ff3b6b");
  const teal = css("--accent-2", "#25d0c4");
  const warn = css("--warn", "#fbbf24");
  const good = css("--good", "#4ade80");
  const slots = {
    velocity: new Slot(box, "chart-velocity", "Gift velocity, last hour", accent),
    coins: new Slot(box, "chart-coins", "Coins per live", teal),
    top: new Slot(box, "chart-top-gifts", "Top gifts, last 30 days", warn),
    followers: new Slot(box, "chart-followers", "Follower growth, last 30 days", good),
    watch: new Slot(box, "chart-watch", "Watch time per live", teal),
  };
  new ResizeObserver(() => Object.values(slots).forEach((s) => s.resize())).observe(box);

  const creator = encodeURIComponent(me());

  async function load() {
    const [minutes, days, lives] = await Promise.all([
      api(`/v1/creators/${creator}/analytics?bucket=minute`),
      api(`/v1/creators/${creator}/analytics?bucket=day`),
      api(`/v1/lives?creator_id=${creator}&limit=20`),
    ]);
    box.removeAttribute("aria-busy");
    if (minutes.ok) velocity(minutes.data);
    else slots.velocity.error(minutes.error);
    if (days.ok) {
      topGifts(days.data);
      followers(days.data);
    } else {
      slots.top.error(days.error);
      slots.followers.error(days.error);
    }
    if (lives.ok) {
      const list = [...lives.data.data].reverse(); // oldest first, left to right
      coinsPerLive(list);
      watchTime(list);
    } else {
      slots.coins.error(lives.error);
      slots.watch.error(lives.error);
    }
  }

  function velocity(data) {
    const xs = data.buckets.map((b) => seconds(b.start));
    const ys = data.buckets.map((b) => b.gifts);
    const busy = data.buckets.filter((b) => b.gifts > 0);
    const peak = busy.reduce((best, b) => (best === null || b.gifts > best.gifts ? b : best), null);
    slots.velocity.show({
      summary: peak
        ? `${integerText(data.totals.gifts)} gifts (${integerText(data.totals.coins)} coins) in the last hour; the busiest minute, ${shortTime(peak.start)}, had ${integerText(peak.gifts)}.`
        : "No gift in the last hour.",
      xs, ys, yLabel: "gifts per minute",
      tableNode: table("Gifts per minute, last hour", ["Minute", "Gifts", "Coins"],
        busy.map((b) => [shortTime(b.start), integerText(b.gifts), integerText(b.coins)])),
    });
  }

  function topGifts(data) {
    const top = data.top_gifts;
    const labels = top.map((g) => g.name ?? g.gift_id);
    slots.top.show({
      summary: top.length
        ? `From ${data.top_gifts_from} to ${data.top_gifts_to}: ${top.map((g) => `${g.name ?? g.gift_id} ${integerText(g.coins)} coins`).join(", ")}.`
        : "No gift in the last 30 days.",
      xs: top.map((_, i) => i), ys: top.map((g) => g.coins), labels, bars: true, yLabel: "coins",
      tableNode: table("Top gifts, last 30 days", ["Gift", "Sent", "Coins"],
        top.map((g) => [g.name ?? g.gift_id, integerText(g.count), integerText(g.coins)])),
    });
  }

  function followers(data) {
    const known = data.buckets.filter((b) => b.followers !== null);
    const f = data.followers;
    const change = f.change === null ? "" : ` (${f.change >= 0 ? "+" : ""}${integerText(f.change)})`;
    slots.followers.show({
      summary: known.length
        ? `${integerText(f.end ?? known[known.length - 1].followers)} followers now${change} over 30 days.`
        : "No follower count reported by your platform yet.",
      xs: data.buckets.map((b) => seconds(b.start)), ys: data.buckets.map((b) => b.followers),
      yLabel: "followers",
      tableNode: table("Followers at the end of each day", ["Day", "Followers"],
        known.map((b) => [b.date ?? b.start.slice(0, 10), integerText(b.followers)])),
    });
  }

  function liveLabel(live) {
    return `#${live.id}`;
  }

  function coinsPerLive(list) {
    const total = list.reduce((sum, l) => sum + l.coins.amount, 0);
    slots.coins.show({
      summary: list.length
        ? `${livesText(list.length)}, ${integerText(total)} coins received in all.`
        : "No live yet.",
      xs: list.map((_, i) => i), ys: list.map((l) => l.coins.amount), labels: list.map(liveLabel), bars: true,
      yLabel: "coins",
      tableNode: table("Coins and diamonds per live", ["Live", "Gifts", "Coins", "Diamonds"],
        list.map((l) => [`${liveLabel(l)} ${l.title || "Untitled"} (${when(l.started_at)})`, integerText(l.gifts_count),
          l.coins.display, l.diamonds.display])),
    });
  }

  function watchTime(list) {
    const longest = list.reduce((m, l) => Math.max(m, l.watch_seconds), 0);
    const inMinutes = longest >= 600;
    const ys = list.map((l) => (inMinutes ? Math.trunc(l.watch_seconds / 60) : l.watch_seconds));
    const total = list.reduce((sum, l) => sum + l.watch_seconds, 0);
    slots.watch.show({
      summary: list.length ? `${duration(total)} watched over ${livesText(list.length)}.` : "No live yet.",
      xs: list.map((_, i) => i), ys, labels: list.map(liveLabel), bars: true,
      yLabel: inMinutes ? "minutes watched" : "seconds watched",
      tableNode: table("Watch time per live", ["Live", "Watch time", "Viewers", "Peak"],
        list.map((l) => [`${liveLabel(l)} ${l.title || "Untitled"}`, duration(l.watch_seconds),
          integerText(l.unique_viewers), integerText(l.peak_viewers)])),
    });
  }

  const refresh = refresher(load, 5000);
  refresh.now();
  document.getElementById("analytics-refresh").addEventListener("click", () => refresh.poke());
  return { poke: refresh.poke };
}
