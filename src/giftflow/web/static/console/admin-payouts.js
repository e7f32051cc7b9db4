// Payout queue: GET /v1/admin/withdrawals?state=, approve, reject with a reason, retry.
import { act, api, badge, el, formDialog, money, pagedTable, refusal, row, when } from "./admin-common.js";
import { toast } from "./console.js";

const list = document.getElementById("payouts-list");
const state = document.getElementById("payouts-state");
const MOVING = new Set(["approved", "submitted", "in_transit"]);
const COLUMNS = ["Withdrawal", "Creator", "State", { label: "Net", num: true }, { label: "Gross", num: true },
  { label: "Fee", num: true }, "Method", "Expected payment", "Actions"];

export function setup() {
  document.getElementById("payouts-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
}

export function load() {
  return pagedTable(list, {
    caption: "Withdrawals",
    columns: COLUMNS,
    path: "/v1/admin/withdrawals",
    params: { state: state.value, limit: 50 },
    toRow: cells,
    none: state.value ? `No ${state.value.replace("_", " ")} withdrawals.` : "No withdrawals yet.",
  });
}

function cells(w) {
  const actions = [];
  if (w.state === "requested") {
    actions.push(button("Approve", w, approve, true));
  }
  if (w.state === "requested" || w.state === "approved") actions.push(button("Reject", w, reject));
  if (MOVING.has(w.state)) actions.push(button(w.state === "approved" ? "Send now" : "Retry", w, retry));
  const history = el("details", {}, el("summary", {}, "History"),
    el("ol", { class: "history" }, w.history.map((h) => el("li", {}, `${h.state} · ${when(h.at)}${h.note ? ` · ${h.note}` : ""}`))));
  return [
    el("div", { class: "stack tight" }, el("span", { class: "mono" }, w.id), el("span", { class: "hint" }, when(w.created_at))),
    w.user_id,
    el("div", { class: "stack tight" }, el("span", { dataset: { state: w.state } }, badge(w.state)), history),
    el("span", { class: "amount" }, money(w.net)),
    money(w.gross),
    money(w.fee),
    `${w.provider} #${w.method_id}`,
    w.expected_payment_on ?? "—",
    el("div", { class: "row" }, actions.length ? actions : el("span", { class: "hint" }, w.failure_reason ?? "—")),
  ];
}

function button(label, w, handler, primary = false) {
  const b = el("button", {
    type: "button",
    class: `btn btn-small${primary ? " btn-primary" : ""}`,
    "aria-label": `${label} withdrawal ${w.id} of ${w.user_id}`,
  }, label);
  b.addEventListener("click", () => handler(w, b));
  return b;
}

/** Put a withdrawal's new state in its row (and keep focus in the table). */
function show(w, near, focus = false) {
  const tr = near?.closest("tr") ?? list.querySelector(`tr[data-withdrawal="${CSS.escape(w.id)}"]`);
  if (!tr || !tr.isConnected) return;
  const fresh = row(COLUMNS, cells(w));
  fresh.dataset.withdrawal = w.id;
  const hadFocus = focus || tr.contains(document.activeElement);
  tr.replaceWith(fresh);
  if (hadFocus) (fresh.querySelector("button") ?? list.querySelector(".table-wrap"))?.focus();
}

/** After an approval the payout is sent at once: follow it until it rests. */
async function follow(w) {
  let current = w;
  for (let i = 0; i < 40 && MOVING.has(current.state); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const r = await api(`/v1/admin/withdrawals/${encodeURIComponent(w.id)}`);
    if (!r.ok) return;
    if (r.data.state !== current.state) {
      current = r.data;
      show(current);
      toast(`Withdrawal ${current.id} is now ${current.state.replace("_", " ")}.`);
    }
  }
}

function mark(tr, w) {
  if (tr) tr.dataset.withdrawal = w.id;
}

function approve(w, b) {
  mark(b.closest("tr"), w);
  formDialog({
    title: `Approve withdrawal ${w.id}`,
    text: `${w.user_id} receives ${money(w.net)} (gross ${money(w.gross)}, fee ${money(w.fee)}) through ${w.provider}.`,
    fields: [{ name: "note", label: "Note (optional, kept in the history)", kind: "textarea" }],
    confirm: "Approve",
    submit: ({ note }) => act(`/v1/admin/withdrawals/${encodeURIComponent(w.id)}/approve`, { body: note ? { note } : {} }),
    done: ({ data }) => {
      toast(`Withdrawal ${data.id} approved: now ${data.state}.`);
      show(data, b, true);
      follow(data);
    },
  });
}

function reject(w, b) {
  mark(b.closest("tr"), w);
  formDialog({
    title: `Reject withdrawal ${w.id}`,
    text: `The reserved diamonds go back to ${w.user_id}, who sees the reason.`,
    fields: [{ name: "reason", label: "Reason (shown to the creator)", kind: "textarea", required: true }],
    confirm: "Reject",
    danger: true,
    submit: ({ reason }) => act(`/v1/admin/withdrawals/${encodeURIComponent(w.id)}/reject`, { body: { reason } }),
    done: ({ data }) => {
      toast(`Withdrawal ${data.id} rejected.`);
      show(data, b, true);
    },
  });
}

async function retry(w, b) {
  mark(b.closest("tr"), w);
  b.disabled = true;
  const r = await act(`/v1/admin/withdrawals/${encodeURIComponent(w.id)}/retry`);
  b.disabled = false;
  if (!r.ok) {
    toast(refusal(r.error), "error");
    return;
  }
  toast(`Withdrawal ${r.data.id}: ${r.data.state.replace("_", " ")}.`);
  show(r.data, b, true);
  follow(r.data);
}
