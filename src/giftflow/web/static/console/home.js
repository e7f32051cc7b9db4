import { api, el, fill } from "./console.js";

const list = document.getElementById("lives");
const { ok, data, error } = await api("/v1/lives?state=active");
list.removeAttribute("aria-busy");
if (!ok) fill(list, el("li", { class: "alert" }, error.message));
else if (data.data.length === 0) fill(list, el("li", { class: "hint" }, "Nobody is live right now."));
else fill(list, data.data.map((live) => el("li", {},
  el("a", { href: `/live/${live.id}` }, el("strong", {}, live.title || "Untitled live"),
    " · ", live.creator_name || live.creator_id, " · ", `${live.viewer_count} watching`))));
