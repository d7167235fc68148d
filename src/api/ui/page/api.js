// Talking to the server: the Keystone token of this tab, reads through the Neutron API (so
// policy decides what the page sees), and the live feed of changes at ./events.
const KEY = 'neutrino-ui-session';

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    } catch {
      return null;
    }
  },
  set(s) {
    sessionStorage.setItem(KEY, JSON.stringify(s));
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const authHeaders = () => {
  const token = session.get()?.token;
  return token ? { 'X-Auth-Token': token } : {};
};

async function call(url, init = {}) {
  const res = await fetch(url, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body?.NeutronError?.message ?? `HTTP ${res.status}`);
  return body;
}

export const uiConfig = () => call('./config');

export async function signIn(form) {
  const s = await call('./login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(form) });
  session.set(s);
  return s;
}

/** A collection as the caller may see it; [] when the extension is not loaded, null when policy refuses it. */
async function list(collection) {
  try {
    return (await call(`../v2.0/${collection}`))[collection];
  } catch (err) {
    if (err.status === 404) return [];
    if (err.status === 403) return null;
    throw err;
  }
}

/** Who the server takes the caller for: { userId, projectId, roles, isAdmin } (isAdmin as policy's context_is_admin says). */
export const whoami = () => call('./whoami');

/** Everything the page draws; `agents` only for admins (the admin view). */
export async function loadAll(admin) {
  const names = ['networks', 'subnets', 'ports', 'routers', 'floatingips', ...(admin ? ['agents'] : [])];
  const [networks, subnets, ports, routers, floatingips, agents = null] = await Promise.all(names.map(list));
  return { networks, subnets, ports, routers, floatingips, agents };
}

/**
 * Follows ./events (server-sent events) with fetch, so the token goes in a header as on every
 * other call (EventSource cannot send one). Reconnects after a drop; `onState` hears 'live' or
 * 'reconnecting', and the page reloads everything on 'live' since events may have been missed.
 */
export function watch(onChange, onState) {
  let stopped = false;
  let ctrl = null;
  void (async () => {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const res = await fetch('./events', { headers: authHeaders(), signal: ctrl.signal });
        if (!res.ok) throw new ApiError(res.status, `events: HTTP ${res.status}`);
        onState('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const event = /^event: (.*)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (event === 'change' && data) onChange(JSON.parse(data));
          }
        }
      } catch (err) {
        if (stopped) return;
        if (err.status === 401) return onState('unauthorized');
      }
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  return () => {
    stopped = true;
    ctrl?.abort();
  };
}
