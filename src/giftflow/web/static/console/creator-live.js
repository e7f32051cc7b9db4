// Going live and the creator's own room: start and end a live (POST /v1/lives,
// POST /v1/lives/{id}/end), its figures (GET /v1/lives/{id}), and its event stream (stream.js),
// whose events the other sections react to. A refusal shows the API's message, and for
// `creator_not_eligible` what its `details.reason` means.

import { openRoom } from "./stream.js";
import {
  alertBox, api, badge, busy, confirmDialog, duration, el, fill, integerText, me, refresher, toast, when,
} from "./creator-common.js";

const REASONS = {
  followers: (d) => `Receiving gifts needs at least ${integerText(d.followers_needed) || "more"} followers; your platform reports your follower count to giftflow.`,
  age_unknown: () => "Your platform has not given your date of birth, so giftflow cannot tell whether you are old enough to receive gifts.",
  under_age: () => "You are under the minimum age to receive gifts.",
  frozen: () => "Your account is frozen: contact your platform's support.",
  user_not_found: () => "Your platform has not created your account on giftflow yet.",
};

/** Extra lines that explain a refusal's code (the API's message is always shown first). */
export function explain(error) {
  const details = error?.details ?? {};
  if (error?.code === "creator_not_eligible" && REASONS[details.reason]) return REASONS[details.reason](details);
  return null;
}

const STATUS_TEXT = { live: "live updates on", reconnecting: "reconnecting…", gone: "updates stopped", idle: "not live" };

/** initLive({onLive(live|null), onEvent(event)}) */
export function initLive({ onLive, onEvent }) {
  const body = document.getElementById("live-body");
  const status = document.getElementById("stream-status");
  const feed = document.getElementById("gift-feed");
  const supporters = document.getElementById("supporters");
  let live = null;
  let room = null;
  let endedNote = null;

  const reload = refresher(async () => {
    if (!live) return;
    const { ok, data, error } = await api(`/v1/lives/${encodeURIComponent(live.id)}`);
    if (!ok) {
      toast(`The live could not be read: ${error.message}`, "error");
      return;
    }
    if (data.state !== "active") {
      endedNote = `Your live “${data.title || "Untitled live"}” ended ${when(data.ended_at)}.`;
      setLive(null);
      return;
    }
    setLive(data);
  }, 1000);

  const board = refresher(async () => {
    if (!live) return;
    const { ok, data } = await api(`/v1/lives/${encodeURIComponent(live.id)}/leaderboard?limit=5`);
    if (ok && data.live_id === live.id) renderSupporters(data.data);
  }, 2000);

  function renderSupporters(top) {
    if (!top.length) {
      fill(supporters, el("li", { class: "hint" }, live ? "Nobody yet." : "Not live."));
      return;
    }
    fill(supporters, top.slice(0, 5).map((line) => el("li", {},
      el("span", { class: "rank" }, `${line.rank}.`),
      el("span", {}, el("strong", {}, line.user.name), ` ${integerText(line.coins)} coins · ${integerText(line.gifts)} gifts`))));
  }

  function setStatus(name) {
    status.textContent = STATUS_TEXT[name] ?? name;
    status.className = `badge ${name === "live" ? "good" : name === "idle" ? "" : "warn"}`.trim();
  }

  function setLive(next) {
    const changed = (next?.id ?? null) !== (live?.id ?? null);
    live = next;
    if (changed) {
      room?.close();
      room = null;
      fill(feed, el("li", { class: "hint" }, live ? "No gift since you opened this page." : "Not live."));
      renderSupporters([]);
      if (live) {
        board.now();
        setStatus("reconnecting");
        room = openRoom(live.id, {
          onWelcome: (msg) => {
            reload.poke(); // whatever happened before the stream opened
            onEvent({ type: "welcome", seq: msg.seq });
          },
          onEvent: handle,
          onStatus: setStatus,
        });
      } else {
        setStatus("idle");
      }
    }
    if (changed || !live) render();
    else renderState(); // the same live: update in place (the focus stays where it is)
    onLive(live);
  }

  function handle(event) {
    if (event.type === "gift") {
      addToFeed(event);
      reload.poke();
      board.poke();
    } else if (event.type === "leaderboard") {
      renderSupporters(event.top);
    } else if (event.type === "viewer_count" && live) {
      live.viewer_count = event.viewer_count;
      live.peak_viewers = event.peak_viewers;
      renderFigures();
    } else if (event.type === "live_ended") {
      reload.now();
    }
    onEvent(event);
  }

  function addToFeed(event) {
    const first = feed.firstElementChild;
    if (first?.classList.contains("hint")) first.remove();
    const combo = event.combo_count > event.count ? ` (combo ×${integerText(event.combo_count)})` : "";
    feed.prepend(el("li", {},
      event.gift?.image ? el("img", { src: event.gift.image, alt: "", width: 24, height: 24 }) : null,
      el("span", {}, el("strong", {}, event.sender?.name ?? event.sender?.id ?? "Someone"),
        ` sent ${event.gift?.name ?? "a gift"} ×${integerText(event.count)}${combo} · ${integerText(event.coins)} coins`)));
    while (feed.children.length > 5) feed.lastElementChild.remove();
  }

  function figure(label, value, id) {
    return el("div", { class: "figure" }, el("dt", {}, label), el("dd", { id }, value));
  }

  function renderState() {
    renderFigures();
    const box = document.getElementById("live-eligibility");
    if (!box || !live) return;
    if (live.eligible) {
      fill(box);
      return;
    }
    const why = explain({ code: "creator_not_eligible", details: { reason: live.ineligible_reason } });
    const text = `Gifts are refused right now (${live.ineligible_reason}).${why ? ` ${why}` : ""}`;
    if (box.textContent !== text) fill(box, el("p", { class: "alert", role: "alert" }, text));
  }

  function renderFigures() {
    const box = document.getElementById("live-figures");
    if (!box || !live) return;
    fill(box,
      figure("Watching now", integerText(live.viewer_count), "live-viewers"),
      figure("Peak", integerText(live.peak_viewers)),
      figure("Gifts", integerText(live.gifts_count), "live-gifts"),
      figure("Coins", live.coins.display, "live-coins"),
      figure("Watch time", duration(live.watch_seconds)));
  }

  function render() {
    body.removeAttribute("aria-busy");
    if (!live) {
      const title = el("input", { id: "live-title", name: "title", maxlength: 200, placeholder: "What is on today?" });
      const result = el("div", { id: "live-result" });
      const button = el("button", { type: "submit", class: "btn btn-primary" }, "Go live");
      const form = el("form", { class: "stack", novalidate: true },
        endedNote ? el("p", { class: "hint" }, endedNote) : null,
        el("p", {}, "You are not live. Start a live to receive gifts; viewers find it on the “Live now” page."),
        el("div", { class: "field" }, el("label", { for: "live-title" }, "Title of your live"), title),
        result,
        el("div", {}, button));
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        busy(button, () => start(title.value.trim(), result));
      });
      fill(body, form);
      return;
    }
    const end = el("button", { type: "button", class: "btn btn-danger" }, "End live");
    end.addEventListener("click", () => busy(end, stop));
    fill(body,
      el("div", { class: "row spread" },
        el("h3", { class: "live-title" }, badge("on air", "good"), " ", live.title || "Untitled live"),
        el("span", { class: "hint" }, `since ${when(live.started_at)}`)),
      el("div", { id: "live-eligibility" }),
      el("dl", { id: "live-figures", class: "figures" }),
      el("div", { class: "row" },
        el("a", { class: "btn", href: `/live/${encodeURIComponent(live.id)}` }, "Open your room"),
        end));
    renderState();
  }

  async function start(title, result) {
    fill(result);
    const { ok, data, error } = await api("/v1/lives", { method: "POST", body: title ? { title } : {} });
    if (!ok) {
      if (error.code === "live_already_active" && error.details?.live_id) {
        const found = await api(`/v1/lives/${encodeURIComponent(error.details.live_id)}`);
        if (found.ok) {
          setLive(found.data);
          return;
        }
      }
      fill(result, alertBox(error, explain(error)));
      return;
    }
    endedNote = null;
    toast("You are live.");
    setLive(data);
    document.getElementById("live")?.focus(); // the form that had the focus is gone
  }

  async function stop() {
    const answer = await confirmDialog({
      title: "End your live?", text: "Viewers are told it ended and no more gifts are accepted.", okLabel: "End live",
    });
    if (!answer || !live) return;
    const { ok, data, error } = await api(`/v1/lives/${encodeURIComponent(live.id)}/end`, { method: "POST" });
    if (!ok && error.code !== "live_not_active") {
      toast(error.message, "error");
      return;
    }
    endedNote = ok ? `Your live “${data.title || "Untitled live"}” ended: ${integerText(data.gifts_count)} gifts, ${data.diamonds.display} diamonds.` : null;
    setLive(null);
    document.getElementById("live-title")?.focus();
  }

  async function load() {
    const mine = encodeURIComponent(me());
    const { ok, data, error } = await api(`/v1/lives?state=active&creator_id=${mine}&limit=1`);
    if (!ok) {
      body.removeAttribute("aria-busy");
      fill(body, alertBox(error));
      onLive(null);
      return;
    }
    setStatus("idle");
    setLive(data.data[0] ?? null);
  }

  load();
  return { get live() { return live; } };
}
