// The diamonds card: GET /v1/creator/earnings, read again (throttled) whenever a gift arrives in
// the creator's live, so the running total rises while the stream goes on. Held vs available,
// what they are worth, and when held diamonds release, all as the API's display strings.

import { alertBox, api, el, fill, refresher, tableWrap, when } from "./creator-common.js";

function setText(id, text) {
  const node = document.getElementById(id);
  if (node && node.textContent !== text) node.textContent = text; // no chatter in the live region
}

/** initEarnings() → {poke(), setLive(live), subscribe(fn(earnings))} */
export function initEarnings() {
  const listeners = [];
  let data = null;

  const refresh = refresher(async () => {
    const { ok, data: found, error } = await api("/v1/creator/earnings");
    const errors = document.getElementById("earnings-error");
    if (!ok) {
      fill(errors, alertBox(error));
      return;
    }
    fill(errors);
    data = found;
    render();
    for (const listener of listeners) listener(data);
  }, 1000);

  function worth(part) {
    const value = part.value;
    if (!value || value.gross.amount === 0) return "";
    const fee = value.fee.amount > 0 ? `, ${value.net.display} after the ${value.fee.display} fee` : "";
    return `worth ${value.gross.display} ${data.currency}${fee}`;
  }

  function render() {
    setText("earned-total", data.lifetime.earned.display);
    setText("available-diamonds", data.available.diamonds.display);
    setText("held-diamonds", data.held.diamonds.display);
    setText("available-value", worth(data.available));
    setText("held-value", worth(data.held));
    setText("hold-rule", data.hold_days > 0
      ? `New diamonds are held ${data.hold_days} days before you can withdraw them (policy ${data.policy_version}).`
      : `New diamonds can be withdrawn at once: this policy (${data.policy_version}) holds none.`);
    const box = document.getElementById("releases");
    const rows = data.releases.map((r) => el("tr", {},
      el("td", {}, r.release_on, el("span", { class: "hint" }, ` (${when(r.releases_at)})`)),
      el("td", { class: "num" }, r.diamonds.display),
      el("td", { class: "num" }, `${r.value.gross.display} ${data.currency}`)));
    if (data.unscheduled.amount > 0) {
      rows.push(el("tr", {}, el("td", {}, "not scheduled (held by an operator)"),
        el("td", { class: "num" }, data.unscheduled.display), el("td", {})));
    }
    if (rows.length === 0) {
      fill(box, data.hold_days > 0 ? el("p", { class: "hint" }, "Nothing is held right now.") : null);
      return;
    }
    fill(box, tableWrap("Releases of held diamonds", el("table", { id: "releases-table" },
      el("caption", {}, "When held diamonds become available"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Release day"),
        el("th", { scope: "col", class: "num" }, "Diamonds"), el("th", { scope: "col", class: "num" }, "Worth"))),
      el("tbody", {}, rows))));
  }

  refresh.now();
  return {
    poke: refresh.poke,
    setLive(live) {
      setText("live-diamonds", live ? `${live.diamonds.display} diamonds` : "not live");
    },
    subscribe(listener) {
      listeners.push(listener);
      if (data) listener(data);
    },
    get data() { return data; },
  };
}
