// Identity and second factor (docs/second-factor.md): the KYC status the platform set
// (GET /v1/creator/identity) and the authenticator: enrol (POST /v1/creator/totp → the QR code as
// an SVG, shown as an <img>, and the secret for typing in), confirm with a code
// (POST /v1/creator/totp/confirm → ten recovery codes, shown this once), replace an active one.

import { alertBox, api, badge, busy, doneBox, el, fill, when } from "./creator-common.js";

const KYC_TEXT = {
  verified: "Your identity is verified.",
  pending: "Your identity check is in progress at your platform.",
  unverified: "Your identity has not been verified yet. Your platform verifies it; giftflow only reads the result.",
  rejected: "Your identity check was rejected: contact your platform.",
};

/** initSecurity({onChange(identity)}) */
export function initSecurity({ onChange }) {
  const identityBox = document.getElementById("identity");
  const box = document.getElementById("totp-body");
  let identity = null;

  async function load() {
    const { ok, data, error } = await api("/v1/creator/identity");
    if (!ok) {
      fill(identityBox, alertBox(error));
      fill(box, alertBox(error));
      return;
    }
    identity = data;
    renderIdentity();
    renderFactor(data.second_factor);
    onChange(identity);
  }

  function renderIdentity() {
    const status = identity.kyc_status;
    const needed = identity.kyc_required && status !== "verified";
    fill(identityBox,
      el("p", { class: "row" }, el("span", {}, "Identity (KYC): "), badge(status), el("span", { id: "kyc-text" }, KYC_TEXT[status] ?? "")),
      needed ? el("p", { class: "warn-note", id: "kyc-needed" },
        "Withdrawals need a verified identity under the policy in force; until your platform verifies you, a withdrawal is refused.") : null);
  }

  function renderFactor(factor) {
    if (factor.state === "active") {
      const replace = el("button", { type: "button", class: "btn btn-quiet" }, "Replace authenticator");
      replace.addEventListener("click", () => renderReplace());
      fill(box,
        el("p", { class: "row" }, badge("active"), el("span", { id: "totp-state" },
          `Two-step verification is on since ${when(factor.confirmed_at)}; ${factor.recovery_codes_left} recovery codes left.`)),
        factor.locked_until ? el("p", { class: "alert", role: "alert" }, `Too many wrong codes: locked until ${when(factor.locked_until)}.`) : null,
        el("div", {}, replace));
      return;
    }
    const start = el("button", { type: "button", class: "btn btn-primary" }, "Set up an authenticator");
    const result = el("div");
    start.addEventListener("click", () => busy(start, () => enrol(null, result)));
    fill(box,
      el("p", { class: "row" }, badge(factor.state === "pending" ? "pending" : "none"), el("span", { id: "totp-state" },
        factor.state === "pending"
          ? "An enrolment was started but not confirmed. Start again for a new QR code (the old one stops working)."
          : "Withdrawals and payout methods need a code from an authenticator app (TOTP).")),
      result,
      el("div", {}, start));
  }

  function renderReplace() {
    const input = el("input", { id: "totp-replace-code", inputmode: "numeric", autocomplete: "one-time-code", spellcheck: "false" });
    const result = el("div");
    const go = el("button", { type: "submit", class: "btn btn-primary" }, "Get a new QR code");
    const cancel = el("button", { type: "button", class: "btn btn-quiet" }, "Cancel");
    cancel.addEventListener("click", () => load());
    const form = el("form", { class: "stack", novalidate: true },
      el("p", {}, "Replacing needs a current code (or a recovery code) of the authenticator you have now."),
      el("div", { class: "field" }, el("label", { for: "totp-replace-code" }, "Current code"), input),
      result, el("div", { class: "row" }, go, cancel));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(go, () => enrol(input.value.trim(), result));
    });
    fill(box, form);
    input.focus();
  }

  async function enrol(code, result) {
    fill(result);
    const { ok, data, error } = await api("/v1/creator/totp", { method: "POST", body: code ? { code } : undefined });
    if (!ok) {
      fill(result, alertBox(error));
      return;
    }
    const input = el("input", { id: "totp-code", inputmode: "numeric", autocomplete: "one-time-code", spellcheck: "false", "aria-describedby": "totp-code-hint" });
    const confirmButton = el("button", { type: "submit", class: "btn btn-primary" }, "Confirm");
    const out = el("div");
    const form = el("form", { class: "stack", novalidate: true },
      el("ol", { class: "steps" },
        el("li", {}, "Scan this QR code with your authenticator app, or type the key below into it."),
        el("li", {}, "Enter the 6-digit code the app shows.")),
      el("div", { class: "enrol" },
        el("img", { id: "totp-qr", class: "qr", src: data.qr_data_uri, alt: `QR code to add ${data.issuer} (${data.account_name}) to an authenticator app`, width: 200, height: 200 }),
        el("div", { class: "stack" },
          el("p", {}, "Key for typing in: ", el("code", { id: "totp-secret", class: "secret" }, data.secret)),
          el("p", { class: "hint" }, `${data.digits} digits, a new code every ${data.period_seconds} seconds, account ${data.account_name} at ${data.issuer}.`),
          el("p", {}, el("a", { href: data.otpauth_uri }, "Open in an authenticator app on this device")))),
      el("div", { class: "field" }, el("label", { for: "totp-code" }, "Code from the app"), input),
      el("p", { id: "totp-code-hint", class: "hint" }, "The key is shown only now: once confirmed, nobody can read it again."),
      out,
      el("div", {}, confirmButton));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(confirmButton, () => confirm(input.value.trim(), out));
    });
    fill(box, form);
    input.focus();
  }

  async function confirm(code, out) {
    fill(out);
    if (!code) {
      fill(out, el("p", { class: "alert", role: "alert" }, "Enter the code your app shows."));
      return;
    }
    const { ok, data, error } = await api("/v1/creator/totp/confirm", { method: "POST", body: { code } });
    if (!ok) {
      fill(out, alertBox(error, error.details?.attempts_left !== undefined ? `${error.details.attempts_left} tries left before a 15-minute lock.` : null));
      return;
    }
    const done = el("button", { type: "button", class: "btn btn-primary" }, "I saved them");
    done.addEventListener("click", () => load());
    fill(box,
      doneBox(badge("active"), " Two-step verification is on."),
      el("div", { class: "recovery", role: "region", "aria-labelledby": "recovery-h" },
        el("h4", { id: "recovery-h" }, "Your recovery codes"),
        el("p", {}, "Each works once in place of a code, if you lose your phone. Save them now: they are shown only this once."),
        el("ul", { id: "recovery-codes", class: "codes" }, data.recovery_codes.map((c) => el("li", {}, el("code", {}, c))))),
      el("div", {}, done));
    done.focus();
    if (identity) {
      identity.second_factor = data;
      onChange(identity);
    }
  }

  load();
  return { reload: load };
}
