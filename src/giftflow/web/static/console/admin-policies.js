// Policy versions: GET /v1/admin/policies (in force / scheduled), GET /v1/admin/policies/{label},
// POST /v1/admin/policies/validate {document}, POST /v1/admin/policies {document} (schedule).
import { act, alertBox, api, badge, busy, el, empty, fill, json, table, when } from "./admin-common.js";
import { toast } from "./console.js";

const list = document.getElementById("policies-list");
const view = document.getElementById("policies-view");
const form = document.getElementById("policies-form");
const doc = document.getElementById("policies-doc");
const result = document.getElementById("policies-result");
let versions = [];

export function setup() {
  const copy = document.getElementById("policies-copy");
  copy.addEventListener("click", () => busy(copy, startFromInForce));
  const validate = document.getElementById("policies-validate");
  validate.addEventListener("click", () => busy(validate, check));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form.querySelector('button[type="submit"]'), schedule);
  });
}

export async function load() {
  list.setAttribute("aria-busy", "true");
  const r = await api("/v1/admin/policies");
  list.removeAttribute("aria-busy");
  if (!r.ok) {
    fill(list, alertBox(r.error));
    return;
  }
  versions = r.data.data ?? [];
  if (versions.length === 0) {
    fill(list, empty("No stored versions: the shipped profile is in force."));
    return;
  }
  fill(list, table("Policy versions", ["Version", "Effective from", "Stored", "Status", "Document"],
    versions.map((v) => {
      const open = el("button", { type: "button", class: "btn btn-small", "aria-label": `View ${v.label}` }, "View");
      open.addEventListener("click", () => busy(open, () => show(v.label)));
      return [el("span", { class: "mono" }, v.label), when(v.effective_from), v.stored === false ? "shipped profile file" : when(v.created_at), status(v), open];
    })));
}

function status(v) {
  if (v.in_force) return badge("in force");
  if (v.scheduled) return badge("scheduled");
  return el("span", { class: "hint" }, "superseded");
}

async function fetchDocument(label) {
  return api(`/v1/admin/policies/${encodeURIComponent(label)}`);
}

async function show(label) {
  const r = await fetchDocument(label);
  if (!r.ok) {
    fill(view, alertBox(r.error));
    return;
  }
  const heading = el("h3", { tabindex: "-1" }, `Document of ${r.data.label ?? label}`);
  fill(view, heading, el("p", { class: "hint" }, `Effective from ${when(r.data.effective_from)}.`), json(r.data.document));
  heading.focus();
}

/** The version in force, numbered after the latest version and effective now: a starting point. */
async function startFromInForce() {
  const current = versions.find((v) => v.in_force);
  const r = current ? await fetchDocument(current.label) : null;
  if (!r || !r.ok) {
    fill(result, r ? alertBox(r.error) : el("p", { class: "alert", role: "alert" }, "No version is in force."));
    return;
  }
  const latest = Math.max(...versions.map((v) => v.version));
  const draft = { ...r.data.document, version: latest + 1, effective_from: new Date().toISOString() };
  doc.value = JSON.stringify(draft, null, 2);
  fill(result, el("p", { class: "hint" },
    `Copied ${current.label} as version ${latest + 1}, effective now: change the rules (or effective_from, to schedule it), then validate.`));
  doc.focus();
}

/** The textarea's JSON, or null with the parse error shown. */
function parsed() {
  try {
    const value = JSON.parse(doc.value);
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("the document must be a JSON object");
    return value;
  } catch (error) {
    fill(result, el("p", { class: "alert", role: "alert" }, `Not a valid JSON document: ${error.message}`));
    doc.focus();
    return null;
  }
}

async function check() {
  const policy = parsed();
  if (!policy) return;
  const r = await act("/v1/admin/policies/validate", { body: { document: policy } });
  if (!r.ok) {
    fill(result, alertBox(r.error));
    return;
  }
  if (r.data.valid) fill(result, el("p", { class: "ok", role: "status" }, "Valid: this document can be scheduled."));
  else fill(result, el("div", { role: "alert", class: "alert" }, el("p", {}, "Not valid:"), el("ul", { class: "problems" }, r.data.problems.map((p) => el("li", {}, p)))));
}

async function schedule() {
  const policy = parsed();
  if (!policy) return;
  const r = await act("/v1/admin/policies", { body: { document: policy } });
  if (!r.ok) {
    const problems = r.error.details?.problems;
    fill(result, alertBox(r.error), Array.isArray(problems) ? el("ul", { class: "problems" }, problems.map((p) => el("li", {}, String(p)))) : null);
    return;
  }
  fill(result, el("p", { class: "ok", role: "status" },
    `Stored ${r.data.label}: ${r.data.in_force ? "in force now" : `takes effect ${when(r.data.effective_from)}`}.`));
  toast(`Policy ${r.data.label} stored.`);
  await load();
}
