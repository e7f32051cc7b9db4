// Shared helpers of the console's pages: calls to the /v1 API with the session cookie and the
// CSRF token, a DOM builder that only ever sets text (never HTML), toasts, idempotency keys.
// Amounts are shown as the API's `display` strings: no number formatting here.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";

export const session = { kind: meta("session-kind"), userId: meta("session-user") };

export function newKey() {
  return crypto.randomUUID();
}

/** Call the API. Resolves to {ok, status, data, error}; error is the API's {code, message,
 * details}. `idem` sends an Idempotency-Key (give the same key to retry the same action). */
export async function api(path, { method = "GET", body, idem, accept } = {}) {
  const headers = { Accept: accept ?? "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = meta("csrf-token");
  if (idem) headers["Idempotency-Key"] = idem;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, data: null,
      error: { code: "network", message: "The server cannot be reached; try again.", details: {} } };
  }
  if (response.status === 401) {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`/signin?next=${next}`);
  }
  const type = response.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  const error = response.ok ? null : (data && data.error) || { code: `http_${response.status}`, message: response.statusText, details: {} };
  return { ok: response.ok, status: response.status, data, error };
}

const pendingKeys = new Map(); // one action (method, path, body) → the key its attempts share

/** A success, or a refusal the API stores under the key (replayed for it): the action is over,
 * and doing it again is a new action with a new key. 400/401/403/422/429/5xx and network errors
 * are not stored, so retrying the same action sends the same key. */
function settled({ ok, status, error }) {
  if (ok) return true;
  if (status === 404) return true;
  return status === 409 && error?.code !== "idempotency_key_in_flight";
}

/** An unsafe call (POST by default) under an Idempotency-Key that its retries share until the
 * action has settled: pressing the button again after a lost answer cannot act twice. */
export async function act(path, { method = "POST", body } = {}) {
  const action = `${method} ${path} ${JSON.stringify(body ?? null)}`;
  let key = pendingKeys.get(action);
  if (key === undefined) {
    key = newKey();
    pendingKeys.set(action, key);
  }
  const result = await api(path, { method, body, idem: key });
  if (settled(result)) pendingKeys.delete(action);
  return result;
}

/** Disable a button while `work` runs (no double submission). */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** el("button", {class: "btn", onclick: f, "aria-label": "x"}, "text", child, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace a container's children. */
export function fill(container, ...children) {
  container.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function toast(message, kind = "info", ms = 5000) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = el("div", { class: `toast ${kind === "error" ? "error" : ""}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), ms);
}

/** A short local time for a RFC 3339 timestamp (the date and time come from the API). */
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
