// Goals and battles of the creator's active live (docs/goals-and-leaderboards.md,
// docs/battles-and-cohosts.md): set goals and watch their progress; invite another live creator,
// answer an invitation, watch the score and the countdown. Both lists are read again from the API
// when the room's stream reports a goal_* or battle_* event.

import {
  act, alertBox, api, badge, busy, doneBox, duration, el, fill, integerText, me, refill, refresher, tableWrap, toast,
} from "./creator-common.js";

export function initEngage() {
  const idle = document.getElementById("engage-idle");
  const body = document.getElementById("engage-body");
  const goalsList = document.getElementById("goals-list");
  const battlesList = document.getElementById("battles-list");
  const goalForm = document.getElementById("goal-form");
  const battleForm = document.getElementById("battle-form");
  const kind = document.getElementById("goal-kind");
  const giftField = document.getElementById("goal-gift-field");
  const giftSelect = document.getElementById("goal-gift");
  const opponent = document.getElementById("battle-opponent");
  let live = null;
  let gifts = new Map();
  let battleOn = false; // an active battle in the last list read: gifts move its score

  const goals = refresher(loadGoals, 700);
  const battles = refresher(loadBattles, 700);

  kind.addEventListener("change", () => { giftField.hidden = kind.value !== "gift"; });

  async function loadCatalog() {
    const { ok, data } = await api("/v1/gifts");
    if (!ok) return;
    gifts = new Map(data.data.map((g) => [g.id, g]));
    fill(giftSelect, data.data.map((g) => el("option", { value: g.id }, `${g.name} (${g.price.display} coins)`)));
  }

  // --- goals -----------------------------------------------------------------------------------

  async function loadGoals() {
    if (!live) return;
    const { ok, data, error } = await api(`/v1/lives/${encodeURIComponent(live.id)}/goals`);
    if (!ok) {
      fill(goalsList, el("li", {}, alertBox(error)));
      return;
    }
    if (data.data.length === 0) {
      fill(goalsList, el("li", { class: "hint" }, "No goal yet for this live."));
      return;
    }
    fill(goalsList, data.data.map((goal) => {
      const what = goal.kind === "coins" ? "coins" : (gifts.get(goal.gift_id)?.name ?? goal.gift_id);
      const label = `${goal.title}: ${integerText(goal.progress)} of ${integerText(goal.target)} ${what}`;
      return el("li", { class: "goal", dataset: { goalId: goal.id } },
        el("div", { class: "row spread" }, el("strong", {}, goal.title),
          goal.completed ? badge("completed") : badge("in progress", "warn")),
        el("progress", { max: goal.target, value: goal.progress, "aria-label": label }),
        el("span", { class: "hint goal-count" }, `${integerText(goal.progress)} / ${integerText(goal.target)} ${what}`,
          goal.total > goal.target ? ` (${integerText(goal.total)} in all)` : ""));
    }));
  }

  goalForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const button = goalForm.querySelector("button[type=submit]");
    busy(button, createGoal);
  });

  async function createGoal() {
    const result = document.getElementById("goal-result");
    fill(result);
    const title = document.getElementById("goal-title").value.trim();
    const targetText = document.getElementById("goal-target").value.trim();
    if (!title) {
      fill(result, el("p", { class: "alert", role: "alert" }, "Give the goal a title."));
      return;
    }
    if (!/^[0-9]{1,15}$/.test(targetText) || /^0+$/.test(targetText)) {
      fill(result, el("p", { class: "alert", role: "alert" }, "The target is a whole number above zero."));
      return;
    }
    const body = { kind: kind.value, target: Number.parseInt(targetText, 10), title };
    if (kind.value === "gift") body.gift_id = giftSelect.value;
    const { ok, error } = await act(`/v1/lives/${encodeURIComponent(live.id)}/goals`, { body });
    if (!ok) {
      fill(result, alertBox(error));
      return;
    }
    fill(result, doneBox(`Goal “${title}” set.`));
    goalForm.reset();
    giftField.hidden = true;
    goals.poke();
  }

  // --- battles ---------------------------------------------------------------------------------

  async function loadOpponents() {
    if (!live) return;
    const { ok, data } = await api("/v1/lives?state=active&limit=100");
    const others = ok ? data.data.filter((l) => l.id !== live.id && l.creator_id !== me()) : [];
    if (others.length === 0) {
      fill(opponent, el("option", { value: "" }, "Nobody else is live right now"));
      return;
    }
    fill(opponent, others.map((l) => el("option", { value: l.id }, `${l.creator_id} — ${l.title || "Untitled live"}`)));
  }

  async function loadBattles() {
    if (!live) return;
    const { ok, data, error } = await api(`/v1/lives/${encodeURIComponent(live.id)}/battles?limit=5`);
    if (!ok) {
      fill(battlesList, alertBox(error));
      return;
    }
    if (data.data.length === 0) {
      battleOn = false;
      fill(battlesList, el("p", { class: "hint" }, "No battle yet in this live."));
      return;
    }
    battleOn = data.data.some((b) => b.state === "active");
    refill(battlesList, data.data.map(renderBattle));
    tick();
  }

  function renderBattle(battle) {
    const mine = battle.sides.find((s) => s.live_id === live.id);
    const actions = [];
    if (battle.state === "invited" && mine?.state === "invited") {
      actions.push(button("Accept", () => answer(battle, "accept"), "btn-primary", `accept-${battle.id}`),
        button("Decline", () => answer(battle, "decline"), "", `decline-${battle.id}`));
    }
    if (battle.state === "invited" && battle.created_by === me()) {
      actions.push(button("Cancel invitation", () => answer(battle, "cancel"), "", `cancel-${battle.id}`));
    }
    const rows = battle.sides.map((side) => el("tr", { class: side.live_id === live.id ? "mine" : "" },
      el("th", { scope: "row" }, side.creator_id, side.live_id === live.id ? " (you)" : ""),
      el("td", {}, badge(side.state)),
      el("td", { class: "num" }, integerText(side.score))));
    return el("article", { class: "battle", "aria-label": `Battle ${battle.id}` },
      el("div", { class: "row spread" },
        el("h4", {}, `Battle ${battle.id} `, badge(battle.state === "active" ? "on" : battle.state,
          battle.state === "active" ? "good" : undefined)),
        battle.state === "active" && battle.ends_at
          ? el("span", { class: "countdown", role: "timer", dataset: { endsAt: battle.ends_at } }, "")
          : el("span", { class: "hint" }, `${duration(battle.duration_seconds)}`)),
      tableWrap(`Scores of battle ${battle.id}`, el("table", { class: "scores" },
        el("caption", { class: "sr-only" }, `Scores of battle ${battle.id}`),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Creator"), el("th", { scope: "col" }, "Side"),
          el("th", { scope: "col", class: "num" }, "Score (coins)"))),
        el("tbody", {}, rows))),
      result(battle),
      actions.length ? el("div", { class: "row" }, actions) : null);
  }

  function result(battle) {
    const r = battle.result;
    if (!r) return null;
    if (battle.state === "canceled") return el("p", { class: "hint" }, `Canceled (${r.reason ?? "canceled"}).`);
    if (r.outcome === "draw") return el("p", {}, "A draw.");
    if (r.winner) {
      const won = r.winner.live_id === live.id;
      return el("p", {}, won ? el("strong", {}, "You won.") : `${r.winner.creator_id} won.`);
    }
    return null;
  }

  function button(label, onclick, extra, focusKey) {
    const b = el("button", { type: "button", class: `btn ${extra}`.trim(), dataset: focusKey ? { focusKey } : undefined }, label);
    b.addEventListener("click", () => busy(b, onclick));
    return b;
  }

  async function answer(battle, verb) {
    const { ok, error } = await act(`/v1/battles/${encodeURIComponent(battle.id)}/${verb}`);
    if (!ok) toast(error.message, "error");
    else toast(verb === "accept" ? "Battle accepted." : verb === "decline" ? "Battle declined." : "Invitation canceled.");
    battles.poke();
  }

  battleForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(battleForm.querySelector("button[type=submit]"), invite);
  });
  document.getElementById("battle-refresh").addEventListener("click", loadOpponents);

  async function invite() {
    const out = document.getElementById("battle-result");
    fill(out);
    if (!opponent.value) {
      fill(out, el("p", { class: "alert", role: "alert" }, "Choose a live to invite."));
      return;
    }
    const body = {
      live_id: live.id,
      opponents: [opponent.value],
      duration_seconds: Number.parseInt(document.getElementById("battle-duration").value, 10),
    };
    const { ok, error } = await act("/v1/battles", { body });
    if (!ok) {
      fill(out, alertBox(error));
      return;
    }
    fill(out, doneBox("Invitation sent: the battle starts when they accept."));
    battles.poke();
  }

  function tick() {
    for (const node of battlesList.querySelectorAll("[data-ends-at]")) {
      const left = Math.trunc((Date.parse(node.dataset.endsAt) - Date.now()) / 1000);
      node.textContent = left > 0 ? `${duration(left)} left` : "ending…";
    }
  }
  setInterval(tick, 1000);

  return {
    setLive(next) {
      const changed = (next?.id ?? null) !== (live?.id ?? null);
      live = next;
      idle.hidden = Boolean(live);
      body.hidden = !live;
      if (changed && live) {
        (gifts.size ? Promise.resolve() : loadCatalog()).then(() => goals.now());
        battles.now();
        loadOpponents();
      }
    },
    onEvent(event) {
      if (!live) return;
      if (event.type === "welcome") {
        goals.poke();
        battles.poke();
      } else if (event.type === "gift" && battleOn) {
        battles.poke(); // battle_score events are coalesced by the server's timer; read it now
      } else if (event.type.startsWith("goal_")) {
        goals.poke();
      } else if (event.type.startsWith("battle_")) {
        battles.poke();
        if (event.type === "battle_ended" || event.type === "battle_canceled") loadOpponents();
      }
    },
  };
}
