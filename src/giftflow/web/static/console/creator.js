// The creator dashboard (/creator): the signed-in user's creator side, filled from the /v1 API
// with the session cookie. Each section lives in its own module; this one wires them together:
// the live's room stream drives the diamonds card, goals, battles and charts.

import { initCharts } from "./creator-charts.js";
import { initEarnings } from "./creator-earnings.js";
import { initEngage } from "./creator-engage.js";
import { initLive } from "./creator-live.js";
import { initPayouts } from "./creator-payouts.js";
import { initSecurity } from "./creator-security.js";

const earnings = initEarnings();
const engage = initEngage();
const charts = initCharts();
const payouts = initPayouts({ earnings });
initSecurity({ onChange: (identity) => payouts.setIdentity(identity) });

initLive({
  onLive(live) {
    earnings.setLive(live);
    engage.setLive(live);
  },
  onEvent(event) {
    if (event.type === "gift" || event.type === "welcome") {
      earnings.poke(); // the running total: read again, at most once a second
      charts.poke(); // velocity and coins per live, at most every 5 s
    } else if (event.type === "live_ended") {
      earnings.poke();
      charts.poke();
    }
    engage.onEvent(event);
  },
});
