// The admin back office: one section shown at a time, chosen by the URL's hash (#payouts,
// #flags, #users, …) so each can be linked to and the browser's back button works. Each section's
// module fills it from the /v1 admin API when it is shown.
import * as audit from "./admin-audit.js";
import * as disputes from "./admin-disputes.js";
import * as finance from "./admin-finance.js";
import * as flags from "./admin-flags.js";
import * as payouts from "./admin-payouts.js";
import * as policies from "./admin-policies.js";
import * as purchases from "./admin-purchases.js";
import * as reconcile from "./admin-reconcile.js";
import * as users from "./admin-users.js";

const SECTIONS = { payouts, flags, users, purchases, disputes, finance, reconcile, policies, audit };
const DEFAULT = "payouts";
const links = [...document.querySelectorAll("#admin-sections a")];
const shown = new Set();

for (const module of Object.values(SECTIONS)) module.setup();

function current() {
  const name = decodeURIComponent(location.hash.slice(1));
  return Object.hasOwn(SECTIONS, name) ? name : DEFAULT;
}

function route(focus) {
  const name = current();
  for (const id of Object.keys(SECTIONS)) document.getElementById(id).hidden = id !== name;
  for (const link of links) {
    if (link.hash === `#${name}`) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
  const section = document.getElementById(name);
  document.title = `${section.querySelector("h2").textContent} · Back office · giftflow`;
  // The finance report keeps its form and charts; every other list is read again when shown.
  if (name !== "finance" || !shown.has(name)) SECTIONS[name].load();
  shown.add(name);
  if (focus) section.focus();
}

window.addEventListener("hashchange", () => route(true));
route(false);
