// The live room's recharge sheet: a modal <dialog> with the packs of the viewer's region
// (GET /v1/coin-packs), a custom amount quoted before paying (GET /v1/coin-packs/quote) and the
// sandbox card form (POST /v1/purchases). Focus stays inside while it is open, Escape closes it
// and focus returns to what opened it. Prices are the API's display strings.

import { api, el, fill, newKey, toast } from "./console.js";

const $ = (id) => document.getElementById(id);
const dialog = $("recharge");
const DIGITS = /^[0-9]{1,15}$/;
const CARD = /^[0-9 ]{12,23}$/;

let store = null; // the GET /v1/coin-packs answer
let opener = null;
let purchased = () => {};
let quote = null; // {digits, data}: the quote of the custom amount now in the field
let quoteTimer = null;
let quoteAsked = 0;
let pending = null; // {signature, key}: a purchase whose answer never came (a retry reuses the key)

export function initRecharge({ onPurchased }) {
  purchased = onPurchased;
  $("recharge-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    $("recharge-reason").textContent = "";
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });
  dialog.addEventListener("keydown", trapTab);
  $("recharge-form").addEventListener("submit", pay);
  $("recharge-form").addEventListener("change", (e) => {
    if (e.target.name === "pack") {
      if (e.target.value === "custom") askQuote();
      updatePay();
    }
  });
  $("custom-coins").addEventListener("input", () => {
    $("pack-custom").checked = true;
    quote = null;
    updatePay();
    clearTimeout(quoteTimer);
    quoteTimer = setTimeout(askQuote, 250);
  });
}

/** Open the sheet; `reason` (an API message) says why, `opener` gets focus back on close. */
export async function openRecharge({ reason = "", opener: from } = {}) {
  opener = from instanceof HTMLElement && from !== document.body ? from : $("recharge-open");
  $("recharge-reason").textContent = reason;
  $("pay-error").textContent = "";
  $("pay-done").textContent = "";
  if (!dialog.open) dialog.showModal();
  if (!store) await loadPacks();
  const checked = dialog.querySelector('input[name="pack"]:checked');
  (checked ?? dialog.querySelector('input[name="pack"]') ?? $("recharge-close")).focus();
}

async function loadPacks() {
  const box = $("packs");
  const { ok, data, error } = await api("/v1/coin-packs?channel=web");
  box.removeAttribute("aria-busy");
  if (!ok) {
    fill(box, el("p", { class: "alert" }, error.message));
    return;
  }
  const chosen = dialog.querySelector('input[name="pack"]:checked')?.value;
  store = data;
  $("sheet-currency").textContent = `prices in ${data.currency}`;
  $("custom-coins").setAttribute("placeholder", `${data.custom.min_coins}–${data.custom.max_coins} coins`);
  fill(box, data.packs.map((pack) => el("label", { class: "pack" },
    el("input", { type: "radio", name: "pack", value: String(pack.coins), checked: String(pack.coins) === chosen }),
    el("span", { class: "pack-coins" }, `${pack.coins} coins`),
    el("span", { class: "pack-price" }, `${pack.price.display} ${data.currency}`),
    pack.bonus_coins > 0 ? el("span", { class: "pack-bonus" }, `+${pack.bonus_coins} bonus`) : null)));
  updatePay();
}

function selection() {
  const picked = dialog.querySelector('input[name="pack"]:checked');
  if (!picked || !store) return null;
  if (picked.value !== "custom") {
    const pack = store.packs.find((p) => String(p.coins) === picked.value);
    return pack ? { body: { pack: pack.coins }, price: pack.price.display } : null;
  }
  const digits = $("custom-coins").value.trim();
  if (!quote || quote.digits !== digits) return { body: null, price: null };
  // Safe: DIGITS allows at most 15 digits, below 2^53.
  return { body: { coins: Number(digits) }, price: quote.data.price.display };
}

function updatePay() {
  const button = $("pay");
  const picked = selection();
  button.disabled = !picked || !picked.body;
  button.textContent = picked && picked.price ? `Pay ${picked.price} ${store.currency}` : "Pay";
}

async function askQuote() {
  const digits = $("custom-coins").value.trim();
  const line = $("quote");
  quote = null;
  updatePay();
  if (!store || !digits) {
    line.textContent = "";
    return;
  }
  if (!DIGITS.test(digits)) {
    line.textContent = `Enter a whole number of coins, ${store.custom.min_coins} to ${store.custom.max_coins}.`;
    return;
  }
  const asked = ++quoteAsked;
  line.textContent = "Getting the price…";
  const q = new URLSearchParams({ coins: digits, channel: "web", currency: store.currency });
  const { ok, data, error } = await api(`/v1/coin-packs/quote?${q}`);
  if (asked !== quoteAsked || $("custom-coins").value.trim() !== digits) return; // an older answer
  if (!ok) {
    line.textContent = error.message;
    return;
  }
  quote = { digits, data };
  const bonus = data.bonus_coins > 0 ? `, plus ${data.bonus_coins} bonus coins` : "";
  line.textContent = `${data.coins} coins cost ${data.price.display} ${data.currency}${bonus}.`;
  updatePay();
}

async function pay(event) {
  event.preventDefault();
  const errorLine = $("pay-error");
  errorLine.textContent = "";
  $("pay-done").textContent = "";
  const picked = selection();
  if (!picked || !picked.body) {
    errorLine.textContent = "Choose a pack, or a custom amount and wait for its price.";
    return;
  }
  const number = $("card-number").value.trim();
  if (!CARD.test(number)) {
    errorLine.textContent = "Enter the card number (digits, spaces allowed).";
    $("card-number").focus();
    return;
  }
  const body = { ...picked.body, channel: "web", currency: store.currency, provider: "sandbox", card: { number } };
  const signature = JSON.stringify(body);
  const key = pending && pending.signature === signature ? pending.key : newKey();
  pending = { signature, key };
  const button = $("pay");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  const { ok, status, data, error } = await api("/v1/purchases", { method: "POST", body, idem: key });
  button.removeAttribute("aria-busy");
  updatePay();
  if (status === 0 || status >= 500) {
    errorLine.textContent = `${error.message} Paying again is safe: it is charged at most once.`;
    return;
  }
  pending = null;
  if (!ok) {
    errorLine.textContent = error.message;
    return;
  }
  if (data.state !== "succeeded") {
    errorLine.textContent = `The payment is ${data.state}${data.failure_reason ? ` (${data.failure_reason})` : ""}.`;
    return;
  }
  const bonus = data.bonus_coins.amount > 0 ? ` and ${data.bonus_coins.display} bonus coins` : "";
  const done = `Added ${data.coins.display} coins${bonus} for ${data.price.display} ${data.price.asset}.`;
  $("pay-done").textContent = done;
  $("recharge-reason").textContent = "";
  toast(done);
  purchased();
  loadPacks(); // a first purchase's bonus is gone now
}

// Tab and Shift+Tab wrap inside the open sheet.
function trapTab(event) {
  if (event.key !== "Tab") return;
  const items = tabbables();
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

function tabbables() {
  const all = [...dialog.querySelectorAll("button, input, select, textarea, a[href], [tabindex]")]
    .filter((n) => !n.disabled && n.tabIndex >= 0 && n.getClientRects().length > 0);
  const groups = new Map();
  for (const n of all) if (n.type === "radio") groups.set(n.name, [...(groups.get(n.name) ?? []), n]);
  return all.filter((n) => {
    if (n.type !== "radio") return true;
    const group = groups.get(n.name);
    const checked = group.find((r) => r.checked);
    return checked ? n === checked : n === group[0];
  });
}
