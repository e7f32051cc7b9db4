// Pieces the creator dashboard's modules share: refusals shown with the API's message, state
// badges, a throttled refresher, a confirmation dialog, and the few pieces of arithmetic the page
// needs — all on integers and strings. Amounts shown are the API's `display` strings; the only
// number formatting here is `integerText` (whole numbers: counts, coins, axis ticks) and
// `toMinorUnits`, which reads what a person typed into an integer of minor units without ever
// making a float.

import { act, api, busy, el, fill, newKey, toast, when } from "./console.js";

export { act, api, busy, el, fill, newKey, toast, when };

/** The API's message for a refusal, with its code (support can look it up in docs/errors.md). */
export function refusal(error) {
  if (!error) return "Something went wrong.";
  const code = error.code && !error.code.startsWith("http_") && error.code !== "network" ? ` (${error.code})` : "";
  return `${error.message || "Refused."}${code}`;
}

/** A refusal as an alert (announced at once), with optional extra lines that explain it. */
export function alertBox(error, ...more) {
  return el("div", { class: "alert", role: "alert" },
    el("p", {}, refusal(error)), more.filter(Boolean).map((line) => el("p", {}, line)));
}

/** A table that may scroll sideways on a phone: a labelled region that takes keyboard focus, so
 * it can be scrolled without a mouse. */
export function tableWrap(label, table) {
  return el("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": label }, table);
}

/** Replace a container's children, keeping the keyboard focus: a control inside it that had the
 * focus and carries `data-focus-key` gets it back in the new content (lists refreshed while a
 * person is tabbing through them — the payout history while it polls, a battle's buttons). */
export function refill(container, ...children) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.focusKey : undefined;
  fill(container, ...children);
  if (key) container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

export function doneBox(...children) {
  return el("p", { class: "done", role: "status" }, ...children);
}

const GOOD = new Set(["paid", "verified", "active", "usable", "accepted", "host", "completed", "won"]);
const WARN = new Set(["requested", "approved", "submitted", "in_transit", "pending", "invited", "cooling off", "unverified"]);
const BAD = new Set(["rejected", "canceled", "failed", "returned", "reversed", "declined", "ended", "none"]);

export function badge(text, kind) {
  const tone = kind ?? (GOOD.has(text) ? "good" : WARN.has(text) ? "warn" : BAD.has(text) ? "bad" : "");
  return el("span", { class: `badge ${tone}`.trim() }, String(text).replaceAll("_", " "));
}

/** "416.50 DIAMOND" / "12.34 USD": the API's display string and its unit. */
export function money(amount) {
  if (!amount) return "—";
  const unit = amount.asset ?? amount.currency ?? "";
  return `${amount.display}${unit && unit !== "DIAMOND" && unit !== "COIN" ? ` ${unit}` : ""}`;
}

/** A whole number with thousands separators ("12,400"); anything but an integer gives "". */
export function integerText(value) {
  if (typeof value !== "number" || !Number.isInteger(value)) return "";
  const digits = String(Math.abs(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return value < 0 ? `-${digits}` : digits;
}

/** How many decimals a currency's display strings have ("0.00" → 2, "0" → 0, "0.000" → 3). */
export function decimalsOf(display) {
  const dot = String(display ?? "").indexOf(".");
  return dot < 0 ? 0 : String(display).length - dot - 1;
}

/** "12.5" with 2 decimals → 1250, as an integer built from the digits (no float ever), or null
 * when the text is not an amount: digits, one optional point, at most `decimals` after it. */
export function toMinorUnits(text, decimals) {
  const clean = String(text ?? "").trim().replaceAll(",", "").replaceAll(" ", "");
  const pattern = decimals > 0 ? new RegExp(`^(\\d+)(?:\\.(\\d{0,${decimals}}))?$`) : /^(\d+)$/;
  const match = pattern.exec(clean);
  if (!match) return null;
  const digits = `${match[1]}${(match[2] ?? "").padEnd(decimals, "0")}`.replace(/^0+(?=\d)/, "");
  const value = Number.parseInt(digits, 10);
  return Number.isSafeInteger(value) ? value : null;
}

/** Whole seconds as "1 h 02 min 05 s" / "3 min 20 s" / "42 s" (integer division only). */
export function duration(seconds) {
  const s = Math.max(0, Math.trunc(seconds));
  const h = Math.trunc(s / 3600);
  const m = Math.trunc((s % 3600) / 60);
  const r = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (h > 0) return `${h} h ${pad(m)} min ${pad(r)} s`;
  if (m > 0) return `${m} min ${pad(r)} s`;
  return `${r} s`;
}

/** A refresh that runs at most once per `ms`: the first poke runs at once, pokes inside the
 * interval run once at its end, and a poke while a run is in flight runs again after it — so the
 * last state is always fetched, however many events arrive. */
export function refresher(work, ms) {
  let running = false;
  let again = false;
  let timer = null;
  let lastRun = -Infinity;
  async function run() {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    lastRun = performance.now();
    try {
      await work();
    } catch (error) {
      console.error(error);
    } finally {
      running = false;
      if (again) {
        again = false;
        poke();
      }
    }
  }
  function poke() {
    if (running) {
      again = true;
      return;
    }
    if (timer !== null) return;
    const wait = Math.max(0, lastRun + ms - performance.now());
    timer = setTimeout(run, wait);
  }
  return { poke, now: run };
}

/** Ask in the page's <dialog>: resolves to null when cancelled, else {code} (the code field is
 * shown when `askCode`). Focus returns to the control that opened it. */
export function confirmDialog({ title, text, okLabel = "Confirm", askCode = false }) {
  const dialog = document.getElementById("confirm-dialog");
  const opener = document.activeElement;
  document.getElementById("confirm-h").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = okLabel;
  const field = document.getElementById("confirm-code-field");
  const input = document.getElementById("confirm-code");
  field.hidden = !askCode;
  input.value = "";
  input.required = askCode;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener instanceof HTMLElement) opener.focus();
      resolve(dialog.returnValue === "ok" ? { code: input.value.trim() } : null);
    }, { once: true });
    dialog.showModal();
    (askCode ? input : document.getElementById("confirm-ok")).focus();
  });
}

/** The signed-in user's id (the dashboard is always about them). */
export function me() {
  return document.querySelector('meta[name="session-user"]')?.content ?? "";
}
