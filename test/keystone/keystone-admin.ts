// Test helpers talking to a real Keystone: admin credentials from /etc/harness/admin-openrc (written
// by /work/shared/conformance/keystone-setup.sh) or the usual OS_* environment variables.
import { readFileSync } from 'node:fs';
import { sleep } from '../helpers/wait.js';

export const KEYSTONE_URL = (process.env.NEUTRINO_TEST_KEYSTONE_URL ?? 'http://127.0.0.1:5000').replace(/\/+$/, '');
export const SERVICE = { username: 'neutron', password: 'neutron-secret', project_name: 'service' };
export const MEMBER = { user: 'neutrino-test-member', password: 'neutrino-test-member-secret', project: 'neutrino-test' };

export function adminCreds(): { username: string; password: string; project: string } {
  const env: Record<string, string | undefined> = { ...process.env };
  try {
    for (const m of readFileSync('/etc/harness/admin-openrc', 'utf8').matchAll(/^export (OS_\w+)=(.*)$/gm)) {
      env[m[1]!] ??= m[2]!.replace(/^['"]|['"]$/g, '');
    }
  } catch {
    // No openrc: rely on the environment.
  }
  return { username: env.OS_USERNAME ?? 'admin', password: env.OS_PASSWORD ?? '', project: env.OS_PROJECT_NAME ?? 'admin' };
}

export async function keystoneReachable(): Promise<boolean> {
  try {
    const res = await fetch(`${KEYSTONE_URL}/v3`, { signal: AbortSignal.timeout(20_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** A project-scoped token for a user in domain Default. */
export async function getToken(username: string, password: string, project: string): Promise<{ token: string; body: any }> {
  const res = await fetch(`${KEYSTONE_URL}/v3/auth/tokens?nocatalog`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    }),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`token for ${username}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return { token: res.headers.get('x-subject-token')!, body };
}

async function api(adminToken: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${KEYSTONE_URL}/v3${path}`, {
    method,
    headers: { 'X-Auth-Token': adminToken, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Creates (or reuses) project neutrino-test and user neutrino-test-member with role member on it,
 * and returns a token for that user.
 */
export async function ensureMemberUser(adminToken: string): Promise<{ projectId: string; userId: string; token: string; body: any }> {
  const q = encodeURIComponent;
  let project = (await api(adminToken, 'GET', `/projects?domain_id=default&name=${q(MEMBER.project)}`)).projects[0];
  project ??= (
    await api(adminToken, 'POST', '/projects', {
      project: { name: MEMBER.project, domain_id: 'default', description: 'neutrino keystone tests' },
    })
  ).project;
  let user = (await api(adminToken, 'GET', `/users?domain_id=default&name=${q(MEMBER.user)}`)).users[0];
  user ??= (
    await api(adminToken, 'POST', '/users', {
      user: { name: MEMBER.user, domain_id: 'default', password: MEMBER.password, default_project_id: project.id },
    })
  ).user;
  const role = (await api(adminToken, 'GET', '/roles?name=member')).roles[0];
  if (!role) throw new Error('Keystone has no role "member" (keystone-setup.sh creates it)');
  await api(adminToken, 'PUT', `/projects/${project.id}/users/${user.id}/roles/${role.id}`);
  const ids = { projectId: project.id as string, userId: user.id as string };
  try {
    return { ...ids, ...(await getToken(MEMBER.user, MEMBER.password, MEMBER.project)) };
  } catch {
    // Left over with another password or disabled: reset it. Changing a password revokes the
    // user's tokens with one-second precision, so a token issued in the same second would be
    // rejected too; wait before asking for one.
    await api(adminToken, 'PATCH', `/users/${user.id}`, { user: { password: MEMBER.password, enabled: true } });
    await sleep(1100);
    return { ...ids, ...(await getToken(MEMBER.user, MEMBER.password, MEMBER.project)) };
  }
}

/** A role by name, created when missing (Keystone before 2023.2 has no `manager`). */
export async function ensureRole(adminToken: string, name: string): Promise<string> {
  const found = (await api(adminToken, 'GET', `/roles?name=${encodeURIComponent(name)}`)).roles[0];
  return (found ?? (await api(adminToken, 'POST', '/roles', { role: { name } })).role).id as string;
}

/** A project in domain Default, created when missing. */
export async function ensureProject(adminToken: string, name: string): Promise<string> {
  const q = encodeURIComponent(name);
  const found = (await api(adminToken, 'GET', `/projects?domain_id=default&name=${q}`)).projects[0];
  return (found ?? (await api(adminToken, 'POST', '/projects', { project: { name, domain_id: 'default', description: 'neutrino tests' } })).project)
    .id as string;
}

/**
 * A user in domain Default with exactly the given password, enabled, holding `roles` on project
 * `projectId` or on the system (`'system'`). Returns the user's id.
 */
export async function ensureUser(adminToken: string, name: string, password: string, roles: string[], on: string): Promise<string> {
  const q = encodeURIComponent(name);
  let user = (await api(adminToken, 'GET', `/users?domain_id=default&name=${q}`)).users[0];
  if (user) {
    // Resetting the password revokes older tokens with one-second precision: wait out that second.
    await api(adminToken, 'PATCH', `/users/${user.id}`, { user: { password, enabled: true } });
    await new Promise((r) => setTimeout(r, 1100));
  } else {
    user = (await api(adminToken, 'POST', '/users', { user: { name, password, domain_id: 'default' } })).user;
  }
  for (const role of roles) {
    const roleId = await ensureRole(adminToken, role);
    await api(adminToken, 'PUT', on === 'system' ? `/system/users/${user.id}/roles/${roleId}` : `/projects/${on}/users/${user.id}/roles/${roleId}`);
  }
  return user.id as string;
}

/** A system-scoped token (`scope: {system: {all: true}}`) for a user in domain Default. */
export async function getSystemToken(username: string, password: string): Promise<{ token: string; body: any }> {
  const res = await fetch(`${KEYSTONE_URL}/v3/auth/tokens?nocatalog`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: username, domain: { id: 'default' }, password } } },
        scope: { system: { all: true } },
      },
    }),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`system token for ${username}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return { token: res.headers.get('x-subject-token')!, body };
}
