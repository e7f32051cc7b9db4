// Purchases: GET /v1/admin/purchases?state=&user_id=, refund with a reason
// (POST /v1/purchases/{id}/refund).
import { act, badge, el, formDialog, money, pagedTable, when } from "./admin-common.js";
import { toast } from "./console.js";

const list = document.getElementById("purchases-list");
const state = document.getElementById("purchases-state");
const user = document.getElementById("purchases-user");
const COLUMNS = ["Purchase", "User", "State", { label: "Coins", num: true }, { label: "Bonus", num: true },
  { label: "Price", num: true }, { label: "Store fee", num: true }, "Provider", "Region", "Created", "Refund reason", "Actions"];

export function setup() {
  document.getElementById("purchases-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
}

export function load() {
  return pagedTable(list, {
    caption: "Purchases",
    columns: COLUMNS,
    path: "/v1/admin/purchases",
    params: { state: state.value, user_id: user.value.trim(), limit: 50 },
    toRow: cells,
    none: "No purchases match.",
  });
}

function cells(p) {
  let action = el("span", { class: "hint" }, p.failure_reason ?? "—");
  if (p.state === "succeeded") {
    action = el("button", { type: "button", class: "btn btn-small", "aria-label": `Refund purchase ${p.id} of ${p.user_id}` }, "Refund");
    action.addEventListener("click", () => refund(p));
  }
  return [
    el("span", { class: "mono" }, p.id),
    p.user_id,
    el("div", { class: "stack" }, badge(p.state), p.provider_refund_due ? el("span", { class: "hint" }, "provider refund due") : null),
    p.coins.display,
    p.bonus_coins.display,
    money(p.price),
    money(p.store_fee),
    `${p.provider} · ${p.channel}`,
    p.region,
    when(p.created_at),
    p.refund_reason ?? "",
    action,
  ];
}

function refund(p) {
  formDialog({
    title: `Refund purchase ${p.id}`,
    text: `${money(p.price)} back to ${p.user_id} through ${p.provider}; the ${p.coins.display} coins (and ${p.bonus_coins.display} bonus) are taken back. Only an untouched purchase inside the refund window can be refunded.`,
    fields: [{ name: "reason", label: "Reason", kind: "textarea", required: true }],
    confirm: "Refund",
    danger: true,
    submit: ({ reason }) => act(`/v1/purchases/${encodeURIComponent(p.id)}/refund`, { body: { reason } }),
    done: ({ data }) => {
      toast(`Purchase ${data.id} refunded.`);
      load();
    },
  });
}
