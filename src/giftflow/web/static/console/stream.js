// A room's event stream over Server-Sent Events, with resume. EventSource reconnects by itself
// and sends Last-Event-ID, so the server replays what was missed (welcome.recovered = true) or
// says it cannot (recovered = false: reload from welcome.state). See docs/realtime.md.

/** openRoom(liveId, {onWelcome(msg), onEvent(event), onStatus("live" | "reconnecting" | "gone")})
 * returns {close()}. onEvent gets each event of each frame, in seq order, exactly once. */
export function openRoom(liveId, { onWelcome, onEvent, onStatus } = {}) {
  let last = 0;
  const source = new EventSource(`/v1/lives/${encodeURIComponent(liveId)}/events`);
  source.addEventListener("welcome", (e) => {
    const msg = JSON.parse(e.data);
    if (!msg.recovered) last = msg.seq;
    onStatus?.("live");
    onWelcome?.(msg);
  });
  source.addEventListener("events", (e) => {
    const frame = JSON.parse(e.data);
    for (const event of frame.events) {
      if (event.seq <= last) continue; // never twice, even if a frame is replayed
      last = event.seq;
      onEvent?.(event);
    }
  });
  source.addEventListener("error", () => {
    onStatus?.(source.readyState === EventSource.CLOSED ? "gone" : "reconnecting");
  });
  return { close: () => source.close(), get seq() { return last; } };
}
