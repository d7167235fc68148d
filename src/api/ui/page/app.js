// The page: sign-in (Keystone) or open (noauth), then the topology and, for admins, agents and
// ports per host. Everything is read through the API; the live feed only says when to read again.
import htm from 'htm';
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { Agents, HostPorts } from './admin.js';
import { ApiError, loadAll, session, signIn, uiConfig, watch, whoami } from './api.js';
import { Topology } from './topology.js';

const html = htm.bind(h);

/** Agents' heartbeats publish no event: the admin view rereads this often (port statuses do: after_status_update). */
const POLL_MS = 10_000;
/** Changes that come together (a router and its ports) are read once. */
const SETTLE_MS = 150;

function SignIn({ onDone }) {
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target));
    try {
      await signIn(f);
      onDone();
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form class="signin" onSubmit=${submit}>
    <h2>Sign in to neutrino</h2>
    <label>User name <input name="username" autocomplete="username" required /></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
    <label>Project <input name="project" required /></label>
    <label>Domain <input name="domain" value="Default" /></label>
    <button type="submit">Sign in</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

/** Admins see every project: a choice of one, or all. */
function projectsOf(data) {
  const ids = new Set([...data.networks, ...data.routers, ...data.ports].map((r) => r.project_id).filter(Boolean));
  return [...ids].sort();
}

function scoped(data, project) {
  if (!project) return data;
  const mine = (r) => r.project_id === project;
  const networks = data.networks.filter((n) => mine(n) || n['router:external'] || n.shared);
  return {
    ...data,
    networks,
    subnets: data.subnets.filter((s) => networks.some((n) => n.id === s.network_id)),
    routers: data.routers.filter(mine),
    ports: data.ports.filter(mine),
    floatingips: data.floatingips.filter(mine),
  };
}

function Dashboard({ me, onSignOut }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [live, setLive] = useState('connecting');
  const [changes, setChanges] = useState([]);
  const [project, setProject] = useState('');
  const [now, setNow] = useState(Date.now());
  const timer = useRef(null);

  const reload = useCallback(async () => {
    try {
      setData(await loadAll(me.isAdmin));
      setNow(Date.now());
      setError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return onSignOut();
      setError(err.message);
    }
  }, [me]);

  useEffect(() => {
    const soon = () => {
      clearTimeout(timer.current);
      timer.current = setTimeout(reload, SETTLE_MS);
    };
    const stop = watch(
      (c) => {
        setChanges((list) => [`${c.resource} ${c.action}d ${c.id.slice(0, 8)}`, ...list].slice(0, 6));
        soon();
      },
      (state) => {
        if (state === 'unauthorized') return onSignOut();
        setLive(state);
        if (state === 'live') soon(); // (re)connected: what happened meanwhile is read anew
      },
    );
    const poll = me.isAdmin ? setInterval(reload, POLL_MS) : null;
    return () => {
      stop();
      clearInterval(poll);
      clearTimeout(timer.current);
    };
  }, [reload]);

  const who = me.userId ? `${me.userName ?? me.userId} · project ${me.projectName ?? me.projectId}` : 'no-auth';
  const shown = data && scoped(data, project);
  return html`<header>
      <h1>neutrino · network topology</h1>
      <span class="live" data-live=${live}>${live}</span>
      ${
        me.isAdmin &&
        data &&
        html`<label>project <select value=${project} onChange=${(e) => setProject(e.target.value)}>
          <option value="">all</option>
          ${projectsOf(data).map((p) => html`<option value=${p}>${p}</option>`)}
        </select></label>`
      }
      <span class="who">${who}${me.isAdmin ? ' · admin' : ''}</span>
      ${me.token && html`<button onClick=${onSignOut}>Sign out</button>`}
    </header>
    ${error && html`<p class="error changes" role="alert">${error}</p>`}
    ${changes.length > 0 && html`<p class="changes" id="changes">latest: ${changes.join(' · ')}</p>`}
    ${
      shown
        ? html`<section><h2>Topology</h2><${Topology} data=${shown} /></section>
          ${
            shown.agents &&
            html`<section><h2>Agents</h2><${Agents} agents=${shown.agents} now=${now} /></section>
              <section><h2>Ports by host</h2><${HostPorts} ports=${shown.ports} networks=${shown.networks} /></section>`
          }`
        : html`<p class="muted changes">Loading…</p>`
    }`;
}

function App() {
  const [config, setConfig] = useState(null);
  const [me, setMe] = useState(null);
  const [error, setError] = useState(null);

  const start = useCallback(async () => {
    try {
      const cfg = config ?? (await uiConfig());
      setConfig(cfg);
      const s = session.get();
      if (cfg.auth === 'keystone' && !s) return setMe(null);
      const who = await whoami();
      setMe({ ...who, token: s?.token, userName: s?.user?.name, projectName: s?.project?.name });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        session.clear();
        return setMe(null);
      }
      setError(err.message);
    }
  }, [config]);
  useEffect(() => void start(), []);

  const signOut = () => {
    session.clear();
    setMe(null);
  };
  if (error) return html`<p class="error changes" role="alert">${error}</p>`;
  if (!config) return html`<p class="muted changes">Loading…</p>`;
  if (!me) return html`<${SignIn} onDone=${start} />`;
  return html`<${Dashboard} me=${me} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById('app'));
