// Audit log: GET /v1/admin/audit?actor=&action=&target= — newest first, the resource before and
// after each action as formatted JSON.
import { el, json, pagedTable, when } from "./admin-common.js";

const list = document.getElementById("audit-list");
const form = document.getElementById("audit-filter");
const COLUMNS = ["When", "Actor", "Action", "Target", "Request", "Before and after"];

export function setup() {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
}

export function load() {
  return pagedTable(list, {
    caption: "Audit log",
    columns: COLUMNS,
    path: "/v1/admin/audit",
    params: {
      actor: form.elements.actor.value.trim(),
      action: form.elements.action.value.trim(),
      target: form.elements.target.value.trim(),
      limit: 50,
    },
    toRow: cells,
    none: "No admin actions recorded.",
  });
}

function cells(entry) {
  const status = entry.status_code >= 400 ? el("span", { class: "badge bad" }, String(entry.status_code)) : el("span", { class: "badge good" }, String(entry.status_code));
  return [
    when(entry.at),
    entry.actor,
    el("span", { class: "mono", dataset: { action: entry.action } }, entry.action),
    el("span", { class: "mono" }, entry.target ?? "—"),
    el("div", { class: "stack" }, el("span", { class: "mono" }, `${entry.method} ${entry.path}`), status),
    el("details", {}, el("summary", {}, `Changes of ${entry.target ?? entry.action}`),
      entry.request != null ? [el("h4", {}, "Request"), json(entry.request)] : null,
      el("h4", {}, "Before"), json(entry.before),
      el("h4", {}, "After"), json(entry.after)),
  ];
}
