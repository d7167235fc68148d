// Starts a real neutrino API server in-process on a free loopback port, with no-auth, on the
// given database, and a small HTTP client that speaks to it as a chosen project/role.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigOverrides } from '../../src/config/index.js';
import { createServer, type NeutrinoServer } from '../../src/server/neutron-server.js';
import type { Backend } from './backends.js';
import type { RpcBus } from '../../src/rpc/index.js';

export interface Caller {
  project?: string;
  roles?: string;
  user?: string;
}

export interface Response {
  status: number;
  body: any;
  headers: Headers;
}

export interface TestServer {
  url: string;
  server: NeutrinoServer;
  req(method: string, path: string, body?: unknown, as?: Caller, extraHeaders?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export const ADMIN: Caller = { project: 'admin-project', roles: 'admin,member,reader', user: 'admin-user' };
export const ALICE: Caller = { project: 'project-alice', roles: 'member,reader', user: 'alice' };
export const BOB: Caller = { project: 'project-bob', roles: 'member,reader', user: 'bob' };

export async function startServer(backend: Backend, overrides: ConfigOverrides = {}, opts: { bus?: RpcBus } = {}): Promise<TestServer> {
  const db = await backend.create();
  const state = mkdtempSync(join(tmpdir(), 'neutrino-state-'));
  const cfg = loadConfig([], {
    ...overrides,
    DEFAULT: { auth_strategy: 'noauth', state_path: state, bind_host: '127.0.0.1', bind_port: '0', ...(overrides.DEFAULT ?? {}) },
    // 10 connections, not oslo.db's 5 + 50: many test servers share the test database's max_connections.
    database: { connection: db.url, max_pool_size: '10', max_overflow: '0', ...(overrides.database ?? {}) },
    ml2: { tenant_network_types: 'vxlan', ...(overrides.ml2 ?? {}) },
    ml2_type_vxlan: { vni_ranges: '100:1099', ...(overrides.ml2_type_vxlan ?? {}) },
    ml2_type_vlan: { network_vlan_ranges: 'physnet1:100:199,physnet2', ...(overrides.ml2_type_vlan ?? {}) },
    ml2_type_flat: { flat_networks: 'flat1,flat2', ...(overrides.ml2_type_flat ?? {}) },
  });
  const server = await createServer(cfg, { bus: opts.bus });
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    server,
    async req(method, path, body, as = ALICE, extraHeaders = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders };
      if (as.project) headers['x-project-id'] = as.project;
      if (as.roles) headers['x-roles'] = as.roles;
      if (as.user) headers['x-user-id'] = as.user;
      const r = await fetch(url + path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await r.text();
      let parsed: unknown = null;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      return { status: r.status, body: parsed, headers: r.headers };
    },
    async stop() {
      await server.close();
      await db.drop();
      rmSync(state, { recursive: true, force: true });
    },
  };
}

/**
 * A test's `ok(method, path, body?, as?, status?)`: the answer's body when it is a 2xx (and
 * `status` when given); otherwise the test fails showing the answer. `server` is read at each
 * call (it is started in `before`), `as` defaults to `caller`.
 */
export function okCalls(server: () => TestServer, caller: Caller) {
  return async function ok(method: string, path: string, body?: unknown, as: Caller = caller, status?: number): Promise<any> {
    const r = await server().req(method, path, body, as);
    assert.ok(
      r.status >= 200 && r.status < 300 && (status === undefined || r.status === status),
      `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`,
    );
    return r.body;
  };
}
