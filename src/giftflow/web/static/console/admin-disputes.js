// Disputes: GET /v1/admin/disputes?state=, settle a lost one with a note
// (POST /v1/admin/disputes/{id}/settle).
import { act, badge, el, formDialog, money, pagedTable, when } from "./admin-common.js";
import { toast } from "./console.js";

const list = document.getElementById("disputes-list");
const state = document.getElementById("disputes-state");
const COLUMNS = ["Case", "Purchase", "User", "State", { label: "Coins removed", num: true }, { label: "Bonus removed", num: true },
  { label: "Coins spent", num: true }, { label: "Receivable", num: true }, "Opened", "Closed", "Note", "Actions"];

export function setup() {
  document.getElementById("disputes-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
}

export function load() {
  return pagedTable(list, {
    caption: "Disputes",
    columns: COLUMNS,
    path: "/v1/admin/disputes",
    params: { state: state.value, limit: 100 },
    toRow: cells,
    none: "No disputes.",
  });
}

function cells(d) {
  let action = el("span", { class: "hint" }, "—");
  if (d.state === "lost") {
    action = el("button", { type: "button", class: "btn btn-small", "aria-label": `Settle dispute ${d.id} of ${d.user_id}` }, "Settle");
    action.addEventListener("click", () => settle(d));
  }
  return [
    el("span", { class: "mono" }, d.id),
    el("span", { class: "mono" }, d.purchase_id),
    d.user_id,
    badge(d.state),
    String(d.coins_removed),
    String(d.bonus_removed),
    String(d.coins_spent),
    el("span", { class: "amount" }, money(d.receivable)),
    when(d.created_at),
    when(d.closed_at),
    d.note ?? "",
    action,
  ];
}

function settle(d) {
  formDialog({
    title: `Settle dispute ${d.id}`,
    text: `Writes off the ${money(d.receivable)} ${d.user_id} still owes and lifts the spending freeze.`,
    fields: [{ name: "note", label: "Note", kind: "textarea", required: true }],
    confirm: "Settle",
    submit: ({ note }) => act(`/v1/admin/disputes/${encodeURIComponent(d.id)}/settle`, { body: { note } }),
    done: ({ data }) => {
      toast(`Dispute ${data.id} ${data.state}.`);
      load();
    },
  });
}
