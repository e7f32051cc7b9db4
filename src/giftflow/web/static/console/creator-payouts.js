// Money out (docs/second-factor.md, docs/payouts.md, docs/earnings.md): payout methods (add a
// PayPal e-mail or an IBAN with a code, list them with their cooling-off, remove one with a code),
// a withdrawal with the authenticator code, the payout history (polled while a payout is on its
// way) and monthly statements as CSV. Amounts typed in are read into integer minor units from the
// digits (toMinorUnits); every amount shown is the API's display string.

import {
  act, alertBox, api, badge, busy, confirmDialog, decimalsOf, doneBox, el, fill, refill, tableWrap, toMinorUnits, toast,
  when,
} from "./creator-common.js";

const FINAL = new Set(["paid", "rejected", "canceled", "failed", "returned", "reversed"]);
const CANCELABLE = new Set(["requested", "approved"]);
const POLL_MS = 2000;

export function initPayouts({ earnings }) {
  const methodsBox = document.getElementById("methods-list");
  const methodForm = document.getElementById("method-form");
  const withdrawForm = document.getElementById("withdraw-form");
  const methodSelect = document.getElementById("withdraw-method");
  const historyBox = document.getElementById("history-list");
  const historyStatus = document.getElementById("history-status");
  let methods = [];
  let money = null; // the last earnings view
  let identity = null;
  const states = new Map(); // withdrawal id → last state seen (to announce changes)
  let pollTimer = null;

  // --- payout methods --------------------------------------------------------------------------

  async function loadMethods() {
    const { ok, data, error } = await api("/v1/payout-methods");
    if (!ok) {
      fill(methodsBox, alertBox(error));
      return;
    }
    methods = data.data;
    renderMethods();
    renderMethodChoice();
  }

  function methodState(m) {
    return m.usable ? badge("usable") : badge("cooling off", "warn");
  }

  function renderMethods() {
    if (methods.length === 0) {
      fill(methodsBox, el("p", { class: "hint" }, "No payout method yet."));
      return;
    }
    fill(methodsBox, el("ul", { class: "methods", id: "methods-ul" }, methods.map((m) => {
      const remove = el("button", { type: "button", class: "btn btn-quiet btn-small", "aria-label": `Remove ${m.masked}` }, "Remove");
      remove.addEventListener("click", () => busy(remove, () => removeMethod(m)));
      return el("li", { class: "method", dataset: { methodId: m.id } },
        el("div", { class: "stack tight" },
          el("span", {}, el("strong", {}, m.kind === "paypal" ? "PayPal " : "Bank "), el("span", { class: "mono" }, m.masked)),
          el("span", { class: "row" }, methodState(m),
            el("span", { class: "hint" }, m.usable ? `since ${when(m.usable_from)}` : `usable from ${when(m.usable_from)}`))),
        remove);
    })));
  }

  function renderMethodChoice() {
    const previous = methodSelect.value;
    if (methods.length === 0) {
      fill(methodSelect, el("option", { value: "" }, "Add a payout method first"));
      return;
    }
    fill(methodSelect, methods.map((m) => el("option", { value: m.id },
      `${m.kind === "paypal" ? "PayPal" : "Bank"} ${m.masked}${m.usable ? "" : ` (cooling off until ${when(m.usable_from)})`}`)));
    const usable = methods.find((m) => m.usable);
    methodSelect.value = methods.some((m) => m.id === previous) ? previous : (usable?.id ?? methods[0].id);
  }

  for (const radio of methodForm.querySelectorAll("input[name=kind]")) {
    radio.addEventListener("change", () => {
      const bank = methodForm.querySelector("input[name=kind]:checked").value === "bank";
      document.getElementById("method-email-field").hidden = bank;
      document.getElementById("method-iban-field").hidden = !bank;
      document.getElementById("method-holder-field").hidden = !bank;
    });
  }

  methodForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(methodForm.querySelector("button[type=submit]"), addMethod);
  });

  async function addMethod() {
    const out = document.getElementById("method-result");
    fill(out);
    const kind = methodForm.querySelector("input[name=kind]:checked").value;
    const totp = document.getElementById("method-code").value.trim();
    const body = kind === "paypal"
      ? { kind, email: document.getElementById("method-email").value.trim(), totp }
      : { kind, iban: document.getElementById("method-iban").value.trim(), holder_name: document.getElementById("method-holder").value.trim(), totp };
    const { ok, data, error } = await api("/v1/payout-methods", { method: "POST", body });
    if (!ok) {
      fill(out, alertBox(error, fieldHint(error)));
      return;
    }
    fill(out, doneBox(`Added ${data.masked}. `, data.usable ? "It can be used now." : `It can be used from ${when(data.usable_from)} (cooling-off).`));
    methodForm.reset();
    methodForm.querySelector("input[name=kind][value=paypal]").dispatchEvent(new Event("change"));
    await loadMethods();
  }

  function fieldHint(error) {
    const field = error?.details?.field ?? error?.details?.errors?.[0]?.loc?.slice(-1)[0];
    return error?.code === "validation_error" && field ? `Check the field “${field}”.` : null;
  }

  async function removeMethod(m) {
    const answer = await confirmDialog({
      title: "Remove this payout method?",
      text: `${m.masked} will no longer be offered for withdrawals. Removing it needs a code.`,
      okLabel: "Remove", askCode: true,
    });
    if (!answer) return;
    const { ok, error } = await api(`/v1/payout-methods/${encodeURIComponent(m.id)}`, { method: "DELETE", body: { totp: answer.code } });
    if (!ok) {
      toast(error.message, "error");
      return;
    }
    toast(`Removed ${m.masked}.`);
    await loadMethods();
  }

  // --- withdrawal ------------------------------------------------------------------------------

  function currencyDecimals() {
    return money ? decimalsOf(money.withdrawal_limits.used_today.display) : 2;
  }

  function renderMoney() {
    if (!money) return;
    const limits = money.withdrawal_limits;
    const cur = money.currency;
    document.getElementById("withdraw-currency").textContent = cur;
    const parts = [`Available: ${money.available.diamonds.display} diamonds, worth ${money.available.value.gross.display} ${cur}`];
    if (money.available.value.fee.amount > 0) parts.push(`(${money.available.value.net.display} ${cur} after fees)`);
    if (money.held.diamonds.amount > 0) parts.push(`· ${money.held.diamonds.display} diamonds still held`);
    document.getElementById("withdraw-summary").textContent = parts.join(" ");
    const rules = [];
    if (limits.minimum) rules.push(`at least ${limits.minimum.display} ${cur}`);
    if (limits.left_today) rules.push(`${limits.left_today.display} ${cur} left today`);
    if (limits.left_this_week) rules.push(`${limits.left_this_week.display} ${cur} left this week`);
    document.getElementById("withdraw-amount-hint").textContent = rules.length ? `Per withdrawal: ${rules.join("; ")}.` : "";
  }

  document.getElementById("withdraw-all").addEventListener("click", () => {
    if (money) document.getElementById("withdraw-amount").value = money.available.value.gross.display;
  });

  withdrawForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(withdrawForm.querySelector("button[type=submit]"), withdraw);
  });

  async function withdraw() {
    const out = document.getElementById("withdraw-result");
    fill(out);
    const decimals = currencyDecimals();
    const amount = toMinorUnits(document.getElementById("withdraw-amount").value, decimals);
    if (amount === null || amount <= 0) {
      fill(out, el("p", { class: "alert", role: "alert" },
        `Enter an amount like ${decimals > 0 ? `12.${"0".repeat(decimals)}` : "12"}, with at most ${decimals} decimals.`));
      return;
    }
    if (!methodSelect.value) {
      fill(out, el("p", { class: "alert", role: "alert" }, "Add a payout method first."));
      return;
    }
    const totp = document.getElementById("withdraw-code").value.trim();
    const body = { amount_minor: amount, method_id: methodSelect.value, totp };
    const { ok, data, error } = await act("/v1/withdrawals", { body });
    if (!ok) {
      fill(out, alertBox(error, withdrawalHint(error)));
      return;
    }
    document.getElementById("withdraw-code").value = "";
    document.getElementById("withdraw-amount").value = "";
    fill(out, doneBox(`Withdrawal ${data.id} ${data.state}: ${data.gross.display} ${data.gross.asset ?? ""}`,
      data.fee.amount > 0 ? `, ${data.net.display} after the fee` : "",
      data.expected_payment_on ? `; expected by ${data.expected_payment_on}.` : "."));
    earnings.poke();
    await loadHistory();
  }

  function withdrawalHint(error) {
    const d = error?.details ?? {};
    switch (error?.code) {
      case "kyc_required": return `Your identity status is “${d.kyc_status ?? identity?.kyc_status ?? "unverified"}”: your platform must verify it first.`;
      case "method_cooling_off": return d.usable_from ? `This method can be used from ${when(d.usable_from)}.` : null;
      case "second_factor_required": return "Set up an authenticator in “Identity and second factor” first.";
      case "second_factor_invalid": return d.attempts_left !== undefined ? `${d.attempts_left} tries left before a 15-minute lock.` : null;
      case "second_factor_locked": return d.locked_until ? `Try again after ${when(d.locked_until)}.` : null;
      default: return fieldHint(error);
    }
  }

  // --- history ---------------------------------------------------------------------------------

  async function loadHistory() {
    clearTimeout(pollTimer);
    pollTimer = null;
    const { ok, data, error } = await api("/v1/withdrawals?limit=20");
    if (!ok) {
      fill(historyBox, alertBox(error));
      return;
    }
    const list = data.data;
    let moved = false;
    for (const w of list) {
      const before = states.get(w.id);
      if (before !== undefined && before !== w.state) {
        toast(`Payout ${w.id} is now ${w.state.replaceAll("_", " ")}.`);
        moved = true;
      }
      states.set(w.id, w.state);
    }
    if (moved) earnings.poke(); // a failed or returned payout gives its diamonds back
    renderHistory(list);
    const moving = list.filter((w) => !FINAL.has(w.state)).length;
    historyStatus.textContent = moving ? `${moving} on the way: updating every few seconds.` : "";
    if (moving) pollTimer = setTimeout(loadHistory, POLL_MS);
  }

  function methodName(id) {
    const m = methods.find((x) => x.id === id);
    return m ? m.masked : `method ${id}`;
  }

  function renderHistory(list) {
    if (list.length === 0) {
      fill(historyBox, el("p", { class: "hint" }, "No withdrawal yet."));
      return;
    }
    const rows = list.map((w) => {
      const cancel = CANCELABLE.has(w.state)
        ? el("button", { type: "button", class: "btn btn-quiet btn-small", "aria-label": `Cancel withdrawal ${w.id}`, dataset: { focusKey: `cancel-${w.id}` } }, "Cancel") : null;
      cancel?.addEventListener("click", () => busy(cancel, () => cancelWithdrawal(w)));
      return el("tr", { dataset: { withdrawalId: w.id } },
        el("th", { scope: "row" }, w.id),
        el("td", {}, when(w.created_at)),
        el("td", { class: "state" }, badge(w.state), w.failure_reason ? el("span", { class: "hint" }, ` ${w.failure_reason}`) : null),
        el("td", { class: "num" }, w.diamonds.display),
        el("td", { class: "num" }, `${w.gross.display}`),
        el("td", { class: "num" }, `${w.fee.display}`),
        el("td", { class: "num" }, `${w.net.display} ${w.net.asset ?? ""}`),
        el("td", {}, methodName(w.method_id)),
        el("td", {}, w.state === "paid" ? (w.history.find((h) => h.state === "paid")?.at ? when(w.history.find((h) => h.state === "paid").at) : "paid") : (w.expected_payment_on ?? "—")),
        el("td", {}, cancel));
    });
    refill(historyBox, tableWrap("Your withdrawals", el("table", { id: "history-table" },
      el("caption", { class: "sr-only" }, "Your withdrawals, newest first"),
      el("thead", {}, el("tr", {}, ["Id", "Requested", "State", "Diamonds", "Gross", "Fee", "Net", "To", "Paid / expected", ""]
        .map((h, i) => el("th", { scope: "col", class: i >= 3 && i <= 6 ? "num" : "" }, h || el("span", { class: "sr-only" }, "Actions"))))),
      el("tbody", {}, rows))));
  }

  async function cancelWithdrawal(w) {
    const answer = await confirmDialog({
      title: `Cancel withdrawal ${w.id}?`, text: `Its ${w.diamonds.display} diamonds come back to your available balance.`, okLabel: "Cancel withdrawal",
    });
    if (!answer) return;
    const { ok, error } = await act(`/v1/withdrawals/${encodeURIComponent(w.id)}/cancel`);
    if (!ok) toast(error.message, "error");
    earnings.poke();
    await loadHistory();
  }

  // --- statements ------------------------------------------------------------------------------

  const period = document.getElementById("statement-period");
  const now = new Date();
  period.value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  const statementBox = document.getElementById("statement-body");

  document.getElementById("statement-form").addEventListener("submit", (e) => {
    e.preventDefault();
    showStatement();
  });
  const csvButton = document.getElementById("statement-csv");
  csvButton.addEventListener("click", () => busy(csvButton, downloadCsv));

  function validPeriod() {
    if (/^\d{4}-\d{2}$/.test(period.value)) return period.value;
    fill(statementBox, el("p", { class: "alert", role: "alert" }, "Choose a month (YYYY-MM)."));
    return null;
  }

  async function showStatement() {
    const month = validPeriod();
    if (!month) return;
    const { ok, data, error } = await api(`/v1/creator/statements?period=${encodeURIComponent(month)}`);
    if (!ok) {
      fill(statementBox, alertBox(error));
      return;
    }
    const d = data.diamonds;
    const row = (label, amount) => el("tr", {}, el("th", { scope: "row" }, label), el("td", { class: "num" }, amount?.display ?? "—"));
    const acc = Object.fromEntries(data.accounts.map((a) => [a.account, a]));
    fill(statementBox, tableWrap(`Statement ${month}`, el("table", { id: "statement-table" },
      el("caption", {}, `Diamonds, ${month}`),
      el("tbody", {},
        row("Earned", d.earned), row("Of which into the hold", d.held), row("Released from the hold", d.released),
        row("Clawed back", d.clawed_back), row("Exchanged for coins", d.exchanged), row("Withdrawn", d.withdrawn),
        acc.available ? row("Available at the end of the month", acc.available.closing) : null,
        acc.held ? row("Held at the end of the month", acc.held.closing) : null))));
  }

  async function downloadCsv() {
    const month = validPeriod();
    if (!month) return;
    const { ok, data, error } = await api(`/v1/creator/statements?period=${encodeURIComponent(month)}`, { accept: "text/csv" });
    if (!ok) {
      fill(statementBox, alertBox(error));
      return;
    }
    const url = URL.createObjectURL(new Blob([data], { type: "text/csv" }));
    const link = el("a", { href: url, download: `statement-${month}.csv`, id: "statement-link" }, `statement-${month}.csv`);
    fill(statementBox, el("p", {}, "Your statement is downloading. If it does not, save it from this link: ", link));
    link.click();
  }

  // --- wiring ----------------------------------------------------------------------------------

  api("/v1/policy").then(({ ok, data }) => {
    if (!ok) return;
    const hours = data.cashout.method_cooling_off_hours;
    document.getElementById("cooling-rule").textContent = hours > 0
      ? `A new or changed method can be used ${hours} hours after it is added (cooling-off, policy ${data.label}).`
      : `A new method can be used at once: this policy (${data.label}) has no cooling-off.`;
  });

  earnings.subscribe((view) => {
    money = view;
    renderMoney();
  });

  loadMethods().then(loadHistory);
  return {
    setIdentity(next) {
      identity = next;
    },
  };
}
