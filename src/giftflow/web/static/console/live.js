// The viewer's live room (/live/{id}): a stage, the gift panel, the recharge sheet, goals, top
// supporters, a battle bar and combos, all driven by the room's event stream (stream.js) and the
// /v1 API. Amounts are the API's `display` strings; coins (a whole-number asset) and counts are
// integers shown as they come. No float touches an amount.

import { api, el, fill, newKey, session, toast } from "./console.js";
import { openRoom } from "./stream.js";
import { openRecharge, initRecharge } from "./live-recharge.js";

const $ = (id) => document.getElementById(id);
const root = $("room");
const liveId = root.dataset.liveId;
const livePath = `/v1/lives/${encodeURIComponent(liveId)}`;

const MAX_FEED = 40;
const MAX_COMBOS = 4;
const MAX_ANIMS = 8;

const room = {
  live: null,
  gifts: new Map(), // gift id -> catalog entry
  goals: new Map(), // goal id -> {goal, node}
  combos: new Map(), // combo id -> {node, count, ended}
  battle: null,
  version: { leaderboard: 0, battle: 0 }, // bumped by events: a REST answer older than one is dropped
  stream: null,
  reopenTimer: null,
};

// --- the balance: every change goes through one queue, so answers are applied in commit order --
const tasks = [];
let working = false;

function setBalance(display) {
  $("balance").textContent = display;
  $("sheet-balance").textContent = display;
}

function enqueue(task, { front = false } = {}) {
  if (front) tasks.unshift(task);
  else tasks.push(task);
  if (!working) work();
}

async function work() {
  working = true;
  while (tasks.length) {
    const task = tasks.shift();
    try {
      await task.run();
    } catch (err) {
      console.error(err);
    }
  }
  working = false;
}

function refreshWallet() {
  enqueue({ kind: "wallet", run: loadWallet });
}

async function loadWallet() {
  const { ok, data, error } = await api("/v1/wallet");
  if (!ok) {
    showSendError(error.message);
    return;
  }
  const coins = data.totals.find((t) => t.asset === "COIN");
  setBalance(coins ? coins.available.display : "0");
}

// --- sending gifts -----------------------------------------------------------------------------
function showSendError(message, retry) {
  const box = $("send-error");
  fill(box, el("span", {}, message));
  if (retry) {
    box.append(" ", el("button", { type: "button", class: "btn btn-small", onclick: retry }, "Try again"));
  }
}

function clearSendError() {
  fill($("send-error"));
}

function giftNoun(gift, count) {
  return `${gift.name} ×${count}`;
}

/** One click on a gift tile: a send with a fresh Idempotency-Key, queued behind earlier sends. */
function send(gift) {
  const count = Number($("count").value);
  enqueue(sendTask({ gift_id: gift.id, count }, newKey()));
}

function sendTask(body, key) {
  return { kind: "send", run: () => postGift(body, key) };
}

async function postGift(body, key) {
  const gift = room.gifts.get(body.gift_id);
  $("send-status").textContent = `Sending ${giftNoun(gift, body.count)}…`;
  const { ok, status, data, error } = await api(`${livePath}/gifts`, { method: "POST", body, idem: key });
  if (ok) {
    clearSendError();
    setBalance(data.balance.display);
    $("send-status").textContent = `Sent ${giftNoun(gift, data.count)} (${data.coins.display} ${data.coins.amount === 1 ? "coin" : "coins"}).`;
    if (data.combo_id) {
      updateCombo(data.combo_id, { name: "You", gift, count: data.combo_count, ended: false, mine: true });
    }
    return;
  }
  $("send-status").textContent = "";
  // Later sends of the same burst would be refused for the same reason: drop them.
  dropQueued("send");
  if (status === 0 || status >= 500) {
    // The gift may or may not have gone through: retrying reuses the key, so it goes at most once.
    showSendError(`${error.message} (${giftNoun(gift, body.count)} not confirmed.)`, () => {
      clearSendError();
      enqueue(sendTask(body, key), { front: true });
    });
    return;
  }
  showSendError(error.message);
  if (error.code === "insufficient_funds") {
    openRecharge({ reason: error.message, opener: document.activeElement });
  }
}

function dropQueued(kind) {
  for (let i = tasks.length - 1; i >= 0; i -= 1) if (tasks[i].kind === kind) tasks.splice(i, 1);
}

function renderGifts(list) {
  const grid = $("gift-grid");
  grid.removeAttribute("aria-busy");
  room.gifts = new Map(list.map((g) => [g.id, g]));
  if (!list.length) {
    fill(grid, el("p", { class: "hint" }, "No gift is offered in your region right now."));
    return;
  }
  fill(grid, list.map((gift) => el("button", {
    type: "button", class: `gift-tile tier-${gift.tier}`, dataset: { gift: gift.id },
    onclick: () => send(gift),
  },
  gift.image ? el("img", { src: gift.image, alt: "", width: 56, height: 56, loading: "lazy" }) : null,
  el("span", { class: "gift-name" }, gift.name),
  el("span", { class: "gift-price" }, gift.price.display, el("span", { class: "sr-only" }, gift.price.amount === 1 ? " coin" : " coins")))));
}

// Arrow keys move between tiles (Tab works too: every tile is a button); Enter or Space sends.
$("gift-grid").addEventListener("keydown", (event) => {
  const tiles = [...$("gift-grid").querySelectorAll("button.gift-tile")];
  const at = tiles.indexOf(document.activeElement);
  if (at < 0) return;
  const columns = getComputedStyle($("gift-grid")).gridTemplateColumns.split(" ").filter(Boolean).length || 1;
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns };
  let next = null;
  if (event.key in moves) next = at + moves[event.key];
  else if (event.key === "Home") next = 0;
  else if (event.key === "End") next = tiles.length - 1;
  if (next === null) return;
  event.preventDefault();
  tiles[Math.max(0, Math.min(tiles.length - 1, next))].focus();
});

// --- the room: stage, viewers, feed, animations, combos --------------------------------------
function applyLive(live) {
  room.live = { ...(room.live ?? {}), ...live };
  const name = live.creator_name ?? live.creator_id;
  $("room-title").textContent = live.title || `${name}'s live`;
  $("stage-name").textContent = name;
  $("stage-title").textContent = live.title ?? "";
  $("viewer-count").textContent = String(live.viewer_count);
  setEnded(live.state === "ended");
}

function setEnded(ended) {
  $("stage").classList.toggle("ended", ended);
  $("live-badge").textContent = ended ? "ENDED" : "LIVE";
  $("gift-grid").classList.toggle("ended", ended);
  if (ended) $("send-status").textContent = "This live has ended.";
}

function animate(event) {
  const layer = $("anims");
  const tier = Math.max(1, Math.min(5, Number(event.gift.tier) || 1));
  const node = el("div", {
    class: `gift-anim tier-${tier}`,
    dataset: { gift: event.gift.id, tier: String(tier), seq: String(event.seq) },
  },
  event.gift.image ? el("img", { src: event.gift.image, alt: "" }) : null,
  el("span", { class: "anim-label" }, `${event.sender.name}: ${giftNoun(event.gift, event.count)}`));
  node.style.setProperty("--x", `${10 + Math.floor(Math.random() * 60)}%`);
  const done = () => { node.hidden = true; node.classList.add("done"); };
  node.addEventListener("animationend", (e) => { if (e.target === node) done(); });
  setTimeout(done, 8000); // a hidden tab runs no animation
  layer.append(node);
  while (layer.children.length > MAX_ANIMS) layer.firstElementChild.remove();
}

function updateCombo(comboId, { name, gift, count, ended, mine = false }) {
  const list = $("combos");
  let combo = room.combos.get(comboId);
  if (!combo) {
    const node = el("li", { class: "combo", dataset: { combo: comboId, gift: gift.id } },
      gift.image ? el("img", { src: gift.image, alt: "", width: 32, height: 32 }) : null,
      el("span", { class: "combo-who" }, ""),
      el("span", { class: "combo-what" }, ""));
    combo = { node, count: 0, ended: false, name: "" };
    room.combos.set(comboId, combo);
    list.prepend(node);
    const nodes = [...list.children];
    for (const old of nodes.slice(MAX_COMBOS)) {
      room.combos.delete(old.dataset.combo);
      old.remove();
    }
  }
  if (!mine || !combo.name) combo.name = name;
  combo.count = Math.max(combo.count, count);
  combo.ended = combo.ended || ended;
  combo.node.querySelector(".combo-who").textContent = combo.name;
  combo.node.querySelector(".combo-what").textContent = giftNoun(gift, combo.count);
  combo.node.dataset.count = String(combo.count);
  combo.node.classList.toggle("ended", combo.ended);
  combo.node.classList.remove("bump");
  void combo.node.offsetWidth; // restart the bump animation
  if (!combo.ended) combo.node.classList.add("bump");
}

function addToFeed(event) {
  $("feed-empty").hidden = true;
  const feed = $("feed");
  const to = event.recipient_id && room.live && event.recipient_id !== room.live.creator_id ? ` to ${event.recipient_id}` : "";
  feed.prepend(el("li", {
    class: `feed-item tier-${event.gift.tier}`,
    dataset: { seq: String(event.seq), tx: event.transaction_id ?? "", gift: event.gift.id },
  },
  event.gift.image ? el("img", { src: event.gift.image, alt: "", width: 28, height: 28 }) : null,
  el("span", {}, el("strong", {}, event.sender.name), ` sent ${giftNoun(event.gift, event.count)}${to}`),
  el("span", { class: "feed-coins" }, `${event.coins} ${event.coins === 1 ? "coin" : "coins"}`)));
  while (feed.children.length > MAX_FEED) feed.lastElementChild.remove();
}

// --- goals ---------------------------------------------------------------------------------------
function goalUnit(goal) {
  if (goal.kind === "coins") return "coins";
  return room.gifts.get(goal.gift_id)?.name ?? goal.gift_id;
}

function putGoal(goal) {
  const known = room.goals.get(goal.goal_id ?? goal.id);
  const id = goal.goal_id ?? goal.id;
  const merged = known ? { ...known.goal } : { id, title: goal.title, kind: goal.kind, gift_id: goal.gift_id, target: goal.target, progress: 0, completed: false };
  if (goal.title) merged.title = goal.title;
  merged.target = goal.target ?? merged.target;
  merged.progress = Math.max(merged.progress, goal.progress ?? 0); // progress only grows
  merged.completed = merged.completed || Boolean(goal.completed);
  let node = known?.node;
  if (!node) {
    node = el("li", { class: "goal", dataset: { goal: id } },
      el("div", { class: "goal-line" }, el("span", { class: "goal-title", id: `goal-${id}-title` }), el("span", { class: "goal-figures" })),
      el("progress", { "aria-labelledby": `goal-${id}-title` }));
    $("goals").append(node);
  }
  room.goals.set(id, { goal: merged, node });
  node.querySelector(".goal-title").textContent = merged.title;
  const figures = `${merged.progress} / ${merged.target}`;
  node.querySelector(".goal-figures").textContent = (merged.kind === "coins"
    ? `${figures} coins`
    : `${goalUnit(merged)} ${figures}`) + (merged.completed ? " · reached" : "");
  const bar = node.querySelector("progress");
  bar.setAttribute("max", String(merged.target));
  bar.setAttribute("value", String(merged.progress));
  node.classList.toggle("completed", merged.completed);
  $("goals-empty").hidden = room.goals.size > 0;
}

// --- top supporters --------------------------------------------------------------------------
function renderTop(lines) {
  const top = $("top");
  $("top-empty").hidden = lines.length > 0;
  fill(top, lines.slice(0, 10).map((line) => el("li", {
    class: line.user.id === session.userId ? "me" : "", dataset: { user: line.user.id },
  },
  el("span", { class: "rank" }, String(line.rank)),
  el("span", { class: "who" }, line.user.name, line.user.id === session.userId ? " (you)" : ""),
  el("span", { class: "coins" }, `${line.coins} coins`))));
}

// --- battles -----------------------------------------------------------------------------------
let clockTimer = null;

function putBattle(update) {
  const known = room.battle && room.battle.id === update.id ? room.battle : { id: update.id };
  room.battle = { ...known, ...update };
  renderBattle();
}

function renderBattle() {
  const box = $("battle");
  const battle = room.battle;
  if (!battle || battle.state === "canceled") {
    box.hidden = true;
    clearInterval(clockTimer);
    return;
  }
  box.hidden = false;
  box.dataset.state = battle.state;
  const scores = new Map((battle.scores ?? []).map((s) => [s.live_id, s.score]));
  const sides = (battle.sides ?? []).filter((s) => s.state !== "declined" && (battle.state === "invited" || s.state !== "invited"));
  const total = sides.reduce((sum, s) => sum + (scores.get(s.live_id) ?? s.score ?? 0), 0);
  const bar = $("battle-bar");
  fill(bar, sides.map((side) => {
    const score = scores.get(side.live_id) ?? side.score ?? 0;
    const seg = el("div", { class: `battle-seg pos-${side.position}${side.live_id === liveId ? " ours" : ""}` });
    // Widths are layout, not amounts: equal shares until someone scores.
    seg.style.flexGrow = String(total > 0 ? Math.max(score, total / 50) : 1);
    return seg;
  }));
  fill($("battle-sides"), sides.map((side) => el("li", { class: side.live_id === liveId ? "ours" : "", dataset: { live: side.live_id } },
    el("span", { class: "side-name" }, side.live_id === liveId ? `${side.creator_id} (this live)` : side.creator_id),
    el("span", { class: "side-score" }, String(scores.get(side.live_id) ?? side.score ?? 0)))));
  let note = "";
  if (battle.state === "invited") note = "A battle is being set up: waiting for the other creators.";
  else if (battle.state === "ended" && battle.result) {
    const r = battle.result;
    if (r.outcome === "draw") note = "The battle ended in a draw.";
    else if (r.winner) note = r.winner.live_id === liveId ? "This live won the battle!" : `${r.winner.creator_id} won the battle.`;
  } else if (battle.state === "active") note = battle.mode === "gifts" && battle.gift_ids ? `Only ${battle.gift_ids.join(", ")} count.` : "Every gift counts for this live's side.";
  $("battle-note").textContent = note;
  tick();
  clearInterval(clockTimer);
  if (battle.state === "active") clockTimer = setInterval(tick, 1000);
}

function tick() {
  const battle = room.battle;
  const clock = $("battle-clock");
  if (!battle || battle.state !== "active" || !battle.ends_at) {
    clock.textContent = battle?.state === "ended" ? "Ended" : "–:–";
    return;
  }
  const left = Math.max(0, Math.ceil((Date.parse(battle.ends_at) - Date.now()) / 1000));
  const mm = Math.floor(left / 60);
  const ss = String(left % 60).padStart(2, "0");
  clock.textContent = `${mm}:${ss}`;
  if (left === 0) clearInterval(clockTimer);
}

// --- the event stream --------------------------------------------------------------------------
function onEvent(event) {
  switch (event.type) {
    case "gift":
      animate(event);
      addToFeed(event);
      if (event.combo_id) updateCombo(event.combo_id, { name: event.sender.name, gift: event.gift, count: event.combo_count, ended: event.combo_end });
      break;
    case "combo":
      updateCombo(event.combo_id, { name: event.sender.name, gift: event.gift, count: event.combo_count, ended: true });
      break;
    case "viewer_count":
      $("viewer-count").textContent = String(event.viewer_count);
      break;
    case "live_ended":
      $("viewer-count").textContent = String(event.viewer_count);
      if (room.live) room.live.state = "ended";
      setEnded(true);
      break;
    case "goal_created":
    case "goal_progress":
      putGoal(event);
      break;
    case "goal_completed":
      putGoal({ ...event, completed: true });
      toast(`Goal reached: ${event.title} (thanks to ${event.sender.name})`);
      break;
    case "leaderboard":
      room.version.leaderboard += 1;
      renderTop(event.top);
      break;
    case "battle_invited":
    case "battle_accepted":
    case "battle_declined":
    case "battle_started":
    case "battle_score":
    case "battle_ended":
    case "battle_canceled":
      room.version.battle += 1;
      onBattleEvent(event);
      break;
    default:
      break;
  }
}

function onBattleEvent(event) {
  const update = { id: event.battle_id };
  if (event.sides) update.sides = event.sides;
  if (event.scores) update.scores = event.scores;
  if (event.ends_at !== undefined) update.ends_at = event.ends_at;
  if (event.mode) { update.mode = event.mode; update.gift_ids = event.gift_ids; }
  if (event.type === "battle_invited") update.state = "invited";
  if (event.type === "battle_started") update.state = "active";
  if (event.type === "battle_canceled") update.state = "canceled";
  if (event.type === "battle_ended") {
    update.state = "ended";
    update.result = event;
  }
  if (event.type === "battle_declined" && event.live_id === liveId) update.state = "canceled";
  putBattle(update);
}

/** Where the room stands (first connection, or a resume that could not replay): read it all. */
async function reload(state) {
  if (state) applyLive(state);
  const lb = room.version.leaderboard;
  const bv = room.version.battle;
  const [goals, board, battles] = await Promise.all([
    api(`${livePath}/goals`), api(`${livePath}/leaderboard?limit=10`), api(`${livePath}/battles?limit=5`),
  ]);
  if (goals.ok) for (const goal of goals.data.data) putGoal(goal);
  if (board.ok && room.version.leaderboard === lb) renderTop(board.data.data);
  if (battles.ok && room.version.battle === bv) {
    const open = battles.data.data.find((b) => b.state === "active" || b.state === "invited");
    if (open) {
      room.battle = null;
      putBattle({ ...open, scores: open.sides.map((s) => ({ live_id: s.live_id, creator_id: s.creator_id, position: s.position, score: s.score })) });
    }
  }
}

const STATUS_TEXT = { connecting: "Connecting…", live: "Live updates on", reconnecting: "Reconnecting…", gone: "Disconnected: retrying" };

function setStatus(status) {
  $("conn").dataset.state = status;
  $("conn-text").textContent = STATUS_TEXT[status];
  if (status === "gone") {
    // EventSource gave up (the server refused the reconnection): start over in a moment.
    room.stream?.close();
    clearTimeout(room.reopenTimer);
    room.reopenTimer = setTimeout(connect, 3000);
  }
}

function connect() {
  setStatus("connecting");
  room.stream = openRoom(liveId, {
    onWelcome: (msg) => { if (!msg.recovered) reload(msg.state); },
    onEvent,
    onStatus: setStatus,
  });
}

// --- joining and leaving -----------------------------------------------------------------------
async function join() {
  const { ok, data, error } = await api(`${livePath}/viewers`, { method: "POST", body: { action: "join" } });
  if (ok) $("viewer-count").textContent = String(data.viewer_count);
  else $("room-problem").textContent = error.message; // e.g. a subscribers-only live
}

function leave() {
  // keepalive: the request outlives the page; the CSRF header is why this is not sendBeacon.
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  fetch(`${livePath}/viewers`, {
    method: "POST", keepalive: true, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify({ action: "leave" }),
  }).catch(() => {});
}

// --- start -------------------------------------------------------------------------------------
async function start() {
  initRecharge({ onPurchased: refreshWallet });
  $("recharge-open").addEventListener("click", (e) => openRecharge({ opener: e.currentTarget }));
  const live = await api(livePath);
  if (!live.ok) {
    $("room-problem").textContent = live.error.message;
    $("gift-grid").removeAttribute("aria-busy");
    $("conn").dataset.state = "gone";
    $("conn-text").textContent = "Not connected";
    return;
  }
  applyLive(live.data);
  refreshWallet();
  const [catalog] = await Promise.all([api("/v1/gifts"), live.data.state === "active" ? join() : null]);
  if (catalog.ok) renderGifts(catalog.data.data);
  else showSendError(catalog.error.message);
  connect();
  window.addEventListener("pagehide", () => { if (room.live?.state === "active") leave(); });
  window.addEventListener("pageshow", (e) => { if (e.persisted && room.live?.state === "active") join(); });
}

start();
