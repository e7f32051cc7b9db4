// Reconcile: GET /v1/admin/reconcile (the last run and its differences), GET …/runs, and
// "Run now": POST /v1/admin/reconcile (202), then poll until the run is done.
import { act, alertBox, api, badge, busy, el, empty, fill, json, table, when } from "./admin-common.js";

const last = document.getElementById("reconcile-last");
const runs = document.getElementById("reconcile-runs");
const progress = document.getElementById("reconcile-progress");
const runButton = document.getElementById("reconcile-run");
const WORKING = new Set(["queued", "running"]);
let polling = false;

export function setup() {
  runButton.addEventListener("click", () => busy(runButton, runNow));
}

export async function load() {
  const r = await api("/v1/admin/reconcile");
  if (r.status === 404) fill(last, empty("Reconcile has not run yet: press Run now."));
  else if (!r.ok) fill(last, alertBox(r.error));
  else {
    show(r.data);
    if (WORKING.has(r.data.state)) poll(r.data.id);
  }
  await loadRuns();
}

async function loadRuns() {
  const r = await api("/v1/admin/reconcile/runs?limit=20");
  if (!r.ok) {
    fill(runs, alertBox(r.error));
    return;
  }
  const items = r.data.data ?? [];
  fill(runs, items.length === 0 ? empty("No runs yet.") : table("Reconcile runs",
    ["Run", "State", "Requested by", "Requested", "Finished", { label: "Differences", num: true }],
    items.map((run) => [run.id, badge(run.state), run.requested_by ?? "schedule", when(run.requested_at), when(run.finished_at),
      run.differences == null ? "—" : String(run.differences)])));
}

function show(run) {
  const report = run.report;
  const parts = [
    el("dl", { class: "kv" },
      el("dt", {}, "Last run"), el("dd", {}, `#${run.id} `, el("span", { id: "reconcile-state" }, badge(run.state))),
      el("dt", {}, "Requested"), el("dd", {}, `${when(run.requested_at)} by ${run.requested_by ?? "the daily schedule"}`),
      el("dt", {}, "Started"), el("dd", {}, when(run.started_at) || "—"),
      el("dt", {}, "Finished"), el("dd", {}, when(run.finished_at) || "—"),
      report ? [
        el("dt", {}, "Checked"), el("dd", {}, `${report.accounts} accounts, ${report.transactions} transactions, ${report.postings} postings`),
      ] : null,
      el("dt", {}, "Differences"), el("dd", {}, run.differences == null ? "—" : String(run.differences))),
  ];
  if (run.error) parts.push(el("p", { class: "alert", role: "alert" }, `The run failed: ${run.error}`));
  const differences = report?.differences ?? [];
  if (differences.length > 0) {
    parts.push(el("h3", {}, "Differences"),
      report.truncated ? el("p", { class: "hint" }, `The first ${differences.length} of ${run.differences} are shown.`) : null,
      table("Reconcile differences",
      ["Check", "Subject", "Expected", "Actual", "Message"],
      differences.map((d) => [d.check, el("span", { class: "mono" }, d.subject ?? ""), cell(d.expected), cell(d.actual), d.message ?? ""])));
  } else if (run.state === "clean") {
    parts.push(el("p", { class: "ok" }, "Every balance matches its postings."));
  }
  fill(last, parts);
}

function cell(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? json(value) : String(value);
}

async function runNow() {
  progress.textContent = "Starting a run…";
  const r = await act("/v1/admin/reconcile");
  if (!r.ok) {
    progress.textContent = "";
    fill(last, alertBox(r.error));
    return;
  }
  show(r.data);
  await poll(r.data.id);
}

async function find(id) {
  const r = await api(`/v1/admin/reconcile/runs/${encodeURIComponent(id)}`);
  return r.ok ? r.data : null;
}

async function poll(id) {
  if (polling) return;
  polling = true;
  runButton.disabled = true;
  try {
    for (let attempt = 0; attempt < 900; attempt += 1) {
      const run = await find(id);
      if (run) {
        if (!WORKING.has(run.state)) {
          show(run);
          progress.textContent = run.state === "clean"
            ? `Run #${run.id} finished: clean.`
            : `Run #${run.id} finished: ${run.state}${run.differences ? ` (${run.differences} differences)` : ""}.`;
          await loadRuns();
          return;
        }
        progress.textContent = `Run #${id} is ${run.state}…`;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    progress.textContent = `Run #${id} is still going; come back to this section later.`;
  } finally {
    polling = false;
    runButton.disabled = false;
  }
}
