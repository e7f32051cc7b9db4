// Fraud flags: GET /v1/admin/flags?state=&kind=, resolve (confirmed | dismissed) with a note,
// POST /v1/admin/flags/scan to run the detectors now.
import { act, badge, busy, el, formDialog, json, pagedTable, refusal, when } from "./admin-common.js";
import { toast } from "./console.js";

const list = document.getElementById("flags-list");
const state = document.getElementById("flags-state");
const kind = document.getElementById("flags-kind");
const COLUMNS = ["Flag", "Kind", "Subject", "Users", "Raised", "State", "Details", "Actions"];

export function setup() {
  document.getElementById("flags-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  const scan = document.getElementById("flags-scan");
  scan.addEventListener("click", () => busy(scan, async () => {
    const r = await act("/v1/admin/flags/scan");
    if (!r.ok) {
      toast(refusal(r.error), "error");
      return;
    }
    const n = r.data.created;
    toast(n === 1 ? "The scan raised 1 new flag." : `The scan raised ${n} new flags.`);
    await load();
  }));
}

export function load() {
  return pagedTable(list, {
    caption: "Fraud flags",
    columns: COLUMNS,
    path: "/v1/admin/flags",
    params: { state: state.value, kind: kind.value, limit: 50 },
    toRow: cells,
    none: state.value === "open" ? "No open flags." : "No flags.",
  });
}

function cells(f) {
  const outcome = f.state === "open"
    ? badge("open")
    : el("div", { class: "stack" }, badge(f.resolution ?? f.state),
      el("span", { class: "hint" }, `${f.resolved_by ?? ""} · ${when(f.resolved_at)}`),
      f.note ? el("span", {}, f.note) : null);
  const resolve = f.state === "open"
    ? el("button", { type: "button", class: "btn btn-small btn-primary", "aria-label": `Resolve flag ${f.id}` }, "Resolve")
    : null;
  resolve?.addEventListener("click", () => open(f));
  return [
    el("span", { class: "mono" }, f.id),
    f.kind.replaceAll("_", " "),
    el("span", { class: "mono" }, f.subject ?? ""),
    (f.users ?? []).join(", "),
    when(f.created_at),
    outcome,
    el("details", {}, el("summary", {}, "Evidence"), json(f.details)),
    resolve ?? el("span", { class: "hint" }, "—"),
  ];
}

function open(f) {
  formDialog({
    title: `Resolve flag ${f.id}`,
    text: `${f.kind.replaceAll("_", " ")} — ${(f.users ?? []).join(", ")}. Resolving records your decision; it moves no money.`,
    fields: [
      { name: "resolution", label: "Decision", kind: "radio", options: [["confirmed", "Confirmed: this is abuse"], ["dismissed", "Dismissed: a false alarm"]] },
      { name: "note", label: "Note", kind: "textarea", required: true, maxlength: 1000 },
    ],
    confirm: "Resolve",
    submit: ({ resolution, note }) => act(`/v1/admin/flags/${encodeURIComponent(f.id)}/resolve`, { body: { resolution, note } }),
    done: ({ data }) => {
      toast(`Flag ${data.id} resolved: ${data.resolution}.`);
      load().then(() => document.getElementById("flags-h").parentElement.focus());
    },
  });
}
