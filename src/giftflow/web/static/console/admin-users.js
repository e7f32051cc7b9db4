// Users: GET /v1/admin/users?q=, GET /v1/admin/users/{id} (guardians, balances),
// PATCH /v1/admin/users/{id} {kyc_status?, frozen?, age_verified?}.
import { act, alertBox, api, badge, busy, el, empty, fill, formDialog, money, pagedTable, table, when, yesNo } from "./admin-common.js";
import { toast } from "./console.js";

const list = document.getElementById("users-list");
const detail = document.getElementById("users-detail");
const q = document.getElementById("users-q");
const KYC = ["unverified", "pending", "verified", "rejected"];
const COLUMNS = ["User", "Name", "Region", "KYC", "Frozen", "Age verified", { label: "Followers", num: true }, "Created", "Details"];

export function setup() {
  document.getElementById("users-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
}

export function load() {
  return pagedTable(list, {
    caption: "Users",
    columns: COLUMNS,
    path: "/v1/admin/users",
    params: { q: q.value.trim(), limit: 50 },
    toRow: cells,
    none: q.value.trim() ? `No user matches “${q.value.trim()}”.` : "No users yet.",
  });
}

function cells(u) {
  const openIt = el("button", { type: "button", class: "btn btn-small", "aria-label": `Open user ${u.id}` }, "Open");
  openIt.addEventListener("click", () => openUser(u.id));
  return [
    el("span", { class: "mono" }, u.id),
    u.display_name ?? "",
    u.region ?? "",
    badge(u.kyc_status),
    u.frozen ? badge("frozen") : "no",
    yesNo(u.age_verified),
    String(u.follower_count),
    when(u.created_at),
    openIt,
  ];
}

export async function openUser(id, focus = true) {
  detail.setAttribute("aria-busy", "true");
  const r = await api(`/v1/admin/users/${encodeURIComponent(id)}`);
  detail.removeAttribute("aria-busy");
  if (!r.ok) {
    fill(detail, alertBox(r.error));
    return;
  }
  const u = r.data;
  const heading = el("h3", { id: "user-detail-h", tabindex: "-1" }, `${u.display_name ?? u.id} (${u.id})`);
  fill(detail,
    heading,
    el("dl", { class: "kv" },
      el("dt", {}, "Region"), el("dd", {}, u.region ?? "—"),
      el("dt", {}, "KYC status"), el("dd", { "data-field": "kyc_status" }, badge(u.kyc_status)),
      el("dt", {}, "Frozen"), el("dd", { "data-field": "frozen" }, u.frozen ? badge("frozen") : "no"),
      el("dt", {}, "Spending"), el("dd", {}, u.spending_frozen ? el("span", {}, badge("frozen"), " ", u.spending_frozen) : "allowed"),
      el("dt", {}, "Age verified"), el("dd", { "data-field": "age_verified" }, yesNo(u.age_verified)),
      el("dt", {}, "Birth date"), el("dd", {}, u.birth_date ?? "—"),
      el("dt", {}, "Followers"), el("dd", {}, String(u.follower_count)),
      el("dt", {}, "Created"), el("dd", {}, when(u.created_at))),
    controls(u),
    el("h3", {}, "Guardians"),
    (u.guardian_links ?? []).length === 0
      ? empty("No guardian links.")
      : table(`Guardian links of ${u.id}`, ["Guardian", "Ward", "Purchases enabled", { label: "Daily cap (coins)", num: true }, "Since"],
        u.guardian_links.map((g) => [g.guardian_id, g.ward_id, yesNo(g.purchases_enabled), g.daily_cap_coins == null ? "none" : String(g.daily_cap_coins), when(g.created_at)])),
    el("h3", {}, "Balances"),
    (u.balances ?? []).length === 0
      ? empty("No balances.")
      : table(`Balances of ${u.id}`, ["Account", "Asset", { label: "Balance", num: true }],
        u.balances.map((b) => [el("span", { class: "mono" }, b.path ?? b.account ?? ""), b.asset ?? "", el("span", { class: "amount" }, b.display)]),
        { cards: false }),
    (u.held ?? []).some((h) => h.amount !== 0)
      ? el("p", {}, "Held by pending transfers: ", u.held.filter((h) => h.amount !== 0).map(money).join(", "))
      : null);
  if (focus) heading.focus();
}

function controls(u) {
  const kycSelect = el("select", { id: "user-kyc", name: "kyc_status" }, KYC.map((k) => el("option", { value: k, selected: k === u.kyc_status }, k)));
  const saveKyc = el("button", { type: "submit", class: "btn" }, "Save KYC status");
  const kycForm = el("form", { class: "row" }, el("label", { for: "user-kyc" }, "KYC status"), kycSelect, saveKyc);
  kycForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(saveKyc, () => patch(u, { kyc_status: kycSelect.value }, `KYC status of ${u.id}: ${kycSelect.value}.`));
  });

  const freeze = el("button", { type: "button", class: u.frozen ? "btn" : "btn btn-danger" }, u.frozen ? "Unfreeze account" : "Freeze account");
  freeze.addEventListener("click", () => formDialog({
    title: u.frozen ? `Unfreeze ${u.id}?` : `Freeze ${u.id}?`,
    text: u.frozen
      ? "The account can send and receive gifts again."
      : "A frozen account can neither send nor receive gifts until it is unfrozen. Nothing is taken from it.",
    confirm: u.frozen ? "Unfreeze" : "Freeze",
    danger: !u.frozen,
    submit: () => act(`/v1/admin/users/${encodeURIComponent(u.id)}`, { method: "PATCH", body: { frozen: !u.frozen } }),
    done: () => after(u, u.frozen ? `${u.id} unfrozen.` : `${u.id} frozen.`),
  }));

  const age = el("button", { type: "button", class: "btn" }, u.age_verified ? "Clear age verification" : "Mark age verified");
  age.addEventListener("click", () => busy(age, () => patch(u, { age_verified: !u.age_verified },
    u.age_verified ? `${u.id}: age no longer verified.` : `${u.id}: age verified.`)));
  return el("div", { class: "stack" }, kycForm, el("div", { class: "row" }, freeze, age), el("div", { id: "user-status", "aria-live": "polite" }));
}

async function patch(u, body, message) {
  const r = await act(`/v1/admin/users/${encodeURIComponent(u.id)}`, { method: "PATCH", body });
  if (!r.ok) {
    fill(document.getElementById("user-status"), alertBox(r.error));
    return r;
  }
  await after(u, message);
  return r;
}

async function after(u, message) {
  toast(message);
  await openUser(u.id);
  if (list.querySelector("table")) load();
}
