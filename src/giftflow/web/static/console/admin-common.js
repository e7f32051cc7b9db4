// Pieces every back-office section shares: actions under an Idempotency-Key that survives a retry,
// tables, state badges, "load more" paging and a dialog that asks for a reason or a note.
// Amounts are always the API's `display` strings; nothing here formats a number.

import { act, api, busy, el, fill, when } from "./console.js";

export { act, api, busy, el, fill, when };

/** The API's message for a refusal (its code alongside, for operators and support). */
export function refusal(error) {
  if (!error) return "Something went wrong.";
  const code = error.code && !error.code.startsWith("http_") ? ` (${error.code})` : "";
  return `${error.message || "Refused."}${code}`;
}

export function alertBox(error) {
  return el("p", { class: "alert", role: "alert" }, refusal(error));
}

// --- display ---------------------------------------------------------------------------------

const GOOD = new Set(["paid", "succeeded", "verified", "clean", "won", "settled", "dismissed", "in force", "approved"]);
const WARN = new Set(["requested", "pending", "submitted", "in_transit", "queued", "running", "open", "scheduled", "disputed", "unverified"]);
const BAD = new Set(["rejected", "failed", "returned", "reversed", "lost", "differences", "confirmed", "frozen", "refunded", "canceled"]);

export function badge(text) {
  const kind = GOOD.has(text) ? "good" : WARN.has(text) ? "warn" : BAD.has(text) ? "bad" : "";
  return el("span", { class: `badge ${kind}`.trim() }, text.replaceAll("_", " "));
}

export function money(amount) {
  if (!amount) return "";
  const unit = amount.asset ?? amount.currency ?? "";
  return `${amount.display}${unit ? ` ${unit}` : ""}`;
}

export function yesNo(value) {
  return value ? "yes" : "no";
}

export function json(value) {
  return el("pre", { class: "mono" }, value === undefined ? "—" : JSON.stringify(value, null, 2));
}

/** A table inside a sideways-scrolling, keyboard-focusable region (on a phone each row becomes a
 * card, every cell labelled with its column, unless `cards` is false: the explicit roles keep the
 * table's semantics when CSS changes its display). `columns` are header labels (a `{label, num}` object right-aligns the
 * column); rows are arrays of cells (text or nodes). */
export function table(caption, columns, rows, { cards = true } = {}) {
  const head = el("tr", { role: "row" }, columns.map((c) =>
    el("th", { scope: "col", role: "columnheader", class: typeof c === "object" && c.num ? "num" : undefined },
      label(c))));
  const body = el("tbody", { role: "rowgroup" }, rows.map((cells) => row(columns, cells)));
  const wrap = el("div", { class: cards ? "table-wrap cards" : "table-wrap", tabindex: "0", role: "region", "aria-label": `${caption} (table)` },
    el("table", { role: "table" }, el("caption", { class: "sr-only" }, caption),
      el("thead", { role: "rowgroup" }, head), body));
  wrap.tbody = body;
  return wrap;
}

function label(column) {
  return typeof column === "object" ? column.label : column;
}

export function row(columns, cells) {
  return el("tr", { role: "row" }, cells.map((cell, i) => {
    const c = columns[i];
    const num = typeof c === "object" && c.num;
    return el("td", { role: "cell", class: num ? "num" : undefined, "data-label": label(c) }, cell);
  }));
}

export function empty(text) {
  return el("p", { class: "empty" }, text);
}

/** A list from `GET path?params` as a table, with "Load more" while the API gives a
 * `next_cursor`; `toRow(item)` → the cells of one row. */
export async function pagedTable(container, { caption, columns, path, params, toRow, none }) {
  container.setAttribute("aria-busy", "true");
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  const first = await api(`${path}?${query}`);
  container.removeAttribute("aria-busy");
  if (!first.ok) {
    fill(container, alertBox(first.error));
    return null;
  }
  const items = first.data.data ?? [];
  if (items.length === 0) {
    fill(container, empty(none));
    return null;
  }
  const wrap = table(caption, columns, items.map(toRow));
  const parts = [wrap];
  let cursor = first.data.next_cursor ?? null;
  const more = el("button", { type: "button", class: "btn more" }, "Load more");
  more.addEventListener("click", () => busy(more, async () => {
    const q = new URLSearchParams(query);
    q.set("cursor", cursor);
    const next = await api(`${path}?${q}`);
    if (!next.ok) {
      more.after(alertBox(next.error));
      return;
    }
    for (const item of next.data.data ?? []) wrap.tbody.append(row(columns, toRow(item)));
    cursor = next.data.next_cursor ?? null;
    if (!cursor) more.remove();
  }));
  if (cursor) parts.push(more);
  fill(container, parts);
  return wrap;
}

// --- dialogs ---------------------------------------------------------------------------------

let dialogCount = 0;

/** A modal form. `fields`: [{name, label, kind: "textarea"|"text"|"radio", options, required,
 * value, hint}]. `submit(values)` → the API's result: on success the dialog closes and `done`
 * gets the result; a refusal is shown inside the dialog, which stays open (sending it again is a
 * retry of the same action, under the same Idempotency-Key). Focus returns to the opener. */
export function formDialog({ title, text, fields = [], confirm, danger = false, submit, done }) {
  const opener = document.activeElement;
  const id = `dlg-${++dialogCount}`;
  const status = el("div", { "aria-live": "polite" });
  const inputs = fields.map((f) => field(id, f));
  const ok = el("button", { type: "submit", class: danger ? "btn btn-danger" : "btn btn-primary" }, confirm);
  const cancel = el("button", { type: "button", class: "btn btn-quiet", value: "cancel" }, "Cancel");
  const form = el("form", { method: "dialog", novalidate: false },
    el("h2", { id: `${id}-h` }, title),
    text ? el("p", { id: `${id}-d` }, text) : null,
    inputs.map((i) => i.node),
    status,
    el("div", { class: "row" }, cancel, ok));
  const dialog = el("dialog", { "aria-labelledby": `${id}-h`, "aria-describedby": text ? `${id}-d` : undefined }, form);
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const values = Object.fromEntries(inputs.map((i) => [i.name, i.value()]));
    const result = await busy(ok, () => submit(values));
    if (result.ok) {
      dialog.close();
      done?.(result);
    } else {
      fill(status, alertBox(result.error));
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

function field(prefix, f) {
  const id = `${prefix}-${f.name}`;
  const hint = f.hint ? el("p", { class: "hint", id: `${id}-hint` }, f.hint) : null;
  if (f.kind === "radio") {
    const radios = f.options.map(([value, label], i) => el("label", { class: "choice" },
      el("input", { type: "radio", name: f.name, value, required: f.required, checked: i === 0 && f.value === undefined ? true : f.value === value }),
      label));
    const node = el("fieldset", { class: "stack" }, el("legend", {}, f.label), radios, hint);
    return { name: f.name, node, value: () => node.querySelector("input:checked")?.value ?? "" };
  }
  const attrs = { id, name: f.name, required: f.required, maxlength: f.maxlength ?? 500, "aria-describedby": hint ? `${id}-hint` : undefined };
  const input = f.kind === "textarea" ? el("textarea", { ...attrs, rows: 3 }) : el("input", { ...attrs, type: "text", autocomplete: "off" });
  if (f.value !== undefined) input.value = f.value;
  const node = el("div", { class: "stack" }, el("label", { for: id }, f.label), input, hint);
  return { name: f.name, node, value: () => input.value.trim() };
}
