// Network logs (logging, the `log` service plugin) on every backend, through the real HTTP
// server: the lifecycle neutron-tempest-plugin's test_logging runs, defaults, filters, every
// error Neutron's sg_validate gives, updates limited to name/description/enabled, the admin-only
// default policy, logs going with their security group or port, and what the L2 agents get:
// the push on neutron-vo-Log-1.0 and the log info of their ports on logging-plugin.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type Caller, type TestServer } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';
import { MemoryBroker, MemoryBus, silentLogger } from '../../src/rpc/index.js';

const sqlite = BACKENDS[0]!;
const LOGS = '/v2.0/log/logs';
const LOGGABLE = '/v2.0/log/loggable-resources';
const NO_SUCH = '9f3c1b0e-0d1a-4c1e-8a59-3b8e9f0c1d2e';

for (const backend of BACKENDS) {
  describe(`logging on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let serverBus: MemoryBus;
    let agentBus: MemoryBus;
    const pushed: Array<{ event: string; ids: string[]; enabled: unknown[] }> = [];
    let netId: string;

    const api = async (method: string, path: string, body?: unknown, status?: number, as: Caller = ADMIN) => {
      const r = await s.req(method, path, body, as);
      if (status !== undefined) assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const sg = async (name: string, as: Caller = ADMIN) =>
      (await api('POST', '/v2.0/security-groups', { security_group: { name } }, 201, as)).security_group;
    const port = async (body: object = {}, as: Caller = ADMIN) =>
      (await api('POST', '/v2.0/ports', { port: { network_id: netId, device_owner: 'compute:nova', ...body } }, 201, as)).port;
    const createLog = async (body: object) => (await api('POST', LOGS, { log: { resource_type: 'security_group', ...body } }, 201)).log;
    const pushes = async () => {
      await s.server.settled();
      await sleep(20);
      return pushed.splice(0);
    };
    const info = (portIds: string[]) =>
      agentBus.call<Record<string, Array<{ id: string; event: string; project_id: string }>>>('logging-plugin', 'get_sg_log_info_for_ports', {
        port_ids: portIds,
      });

    before(async () => {
      const broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, { DEFAULT: { service_plugins: 'router,log' } }, { bus: serverBus });
      await agentBus.serve('neutron-vo-Log-1.0', 'host-a', {
        push: (_ctx: unknown, a: { resource_list: Array<Record<string, any>>; event_type: string }) => {
          pushed.push({
            event: a.event_type,
            ids: a.resource_list.map((r) => r['versioned_object.data'].id),
            enabled: a.resource_list.map((r) => r['versioned_object.data'].enabled),
          });
        },
      });
      netId = (await api('POST', '/v2.0/networks', { network: { name: 'logged', shared: true } }, 201)).network.id;
      await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.9.0.0/24', ip_version: 4, enable_dhcp: false } }, 201);
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    it('lists logging and the loggable security_group type (to admins)', async () => {
      const aliases = (await api('GET', '/v2.0/extensions', undefined, 200)).extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('logging'));
      assert.deepEqual((await api('GET', LOGGABLE, undefined, 200)).loggable_resources, [{ type: 'security_group' }]);
      assert.deepEqual((await api('GET', LOGGABLE, undefined, 200, ALICE)).loggable_resources, []);
    });

    it('creates, shows, lists, updates and deletes a log (the tempest lifecycle)', async () => {
      const group = await sg('logged-web');
      const log = await createLog({ name: 'web-log', description: 'what web sees', resource_id: group.id, enabled: true });
      assert.deepEqual(Object.keys(log).sort(), [
        'created_at',
        'description',
        'enabled',
        'event',
        'id',
        'name',
        'project_id',
        'resource_id',
        'resource_type',
        'revision_number',
        'target_id',
        'tenant_id',
        'updated_at',
      ]);
      assert.equal(log.event, 'ALL');
      assert.equal(log.target_id, null);
      assert.equal(log.resource_id, group.id);
      assert.equal(log.project_id, ADMIN.project);
      assert.equal(log.revision_number, 0);
      assert.deepEqual(await pushes(), [{ event: 'created', ids: [log.id], enabled: [true] }]);
      assert.deepEqual((await api('GET', `${LOGS}/${log.id}`, undefined, 200)).log, log);
      assert.ok((await api('GET', LOGS, undefined, 200)).logs.some((l: any) => l.id === log.id));
      const updated = (await api('PUT', `${LOGS}/${log.id}`, { log: { description: 'quiet now', enabled: false } }, 200)).log;
      assert.equal(updated.description, 'quiet now');
      assert.equal(updated.enabled, false);
      assert.equal(updated.revision_number, 1);
      assert.deepEqual(await pushes(), [{ event: 'updated', ids: [log.id], enabled: [false] }]);
      // Only an update that gives `enabled` reaches the agents.
      await api('PUT', `${LOGS}/${log.id}`, { log: { name: 'renamed' } }, 200);
      assert.deepEqual(await pushes(), []);
      assert.deepEqual(
        (await api('GET', `${LOGS}?enabled=false&fields=id&fields=name`, undefined, 200)).logs.filter((l: any) => l.id === log.id),
        [{ id: log.id, name: 'renamed' }],
      );
      assert.equal((await api('GET', `${LOGS}?enabled=true&id=${log.id}`, undefined, 200)).logs.length, 0);
      await api('DELETE', `${LOGS}/${log.id}`, undefined, 204);
      assert.deepEqual(await pushes(), [{ event: 'deleted', ids: [log.id], enabled: [false] }]);
      assertError(
        await s.req('GET', `${LOGS}/${log.id}`, undefined, ADMIN),
        404,
        'LogResourceNotFound',
        `Log resource ${log.id} could not be found.`,
      );
      assertError(await s.req('DELETE', `${LOGS}/${log.id}`, undefined, ADMIN), 404, 'LogResourceNotFound');
    });

    it('takes explicit nulls for resource_id and target_id, as tempest sends them', async () => {
      const log = await createLog({ name: 'nulls', description: 'd', resource_id: null, target_id: null, event: 'ALL', enabled: true });
      assert.equal(log.resource_id, null);
      assert.equal(log.target_id, null);
      assert.equal(log.description, 'd');
      await api('DELETE', `${LOGS}/${log.id}`, undefined, 204);
      await pushes();
    });

    it('refuses bad input with 4xx, as Neutron does', async () => {
      const group = await sg('bad-input');
      const inGroup = await port({ security_groups: [group.id] });
      const other = await port();
      const post = (body: object) => s.req('POST', LOGS, { log: body }, ADMIN);
      assertError(await post({ resource_type: 'fake_resource' }), 400, 'InvalidLogResourceType', 'Invalid log resource_type: fake_resource.');
      assertError(await post({ name: 'no type' }), 400);
      assertError(await post({ resource_type: 'security_group', event: 'SOMETIMES' }), 400);
      assertError(await post({ resource_type: 'security_group', enabled: 'maybe' }), 400);
      assertError(await post({ resource_type: 'security_group', resource_id: 'not-a-uuid' }), 400);
      assertError(await post({ resource_type: 'security_group', name: 'x'.repeat(256) }), 400);
      assertError(await post({ resource_type: 'security_group', bogus: 1 }), 400);
      assertError(
        await post({ resource_type: 'security_group', target_id: NO_SUCH }),
        404,
        'TargetResourceNotFound',
        `Target resource ${NO_SUCH} could not be found.`,
      );
      assertError(
        await post({ resource_type: 'security_group', resource_id: NO_SUCH }),
        404,
        'ResourceNotFound',
        `Resource ${NO_SUCH} could not be found.`,
      );
      assertError(
        await post({ resource_type: 'security_group', resource_id: group.id, target_id: other.id }),
        400,
        'InvalidResourceConstraint',
        `Invalid resource constraint between resource (security_group ${group.id}) and target resource (port ${other.id}).`,
      );
      const direct = await port({ 'binding:vnic_type': 'direct' });
      assertError(
        await post({ resource_type: 'security_group', target_id: direct.id }),
        409,
        'LoggingTypeNotSupported',
        `Logging type security_group is not supported on port ${direct.id}.`,
      );
      // Nothing above was written.
      assert.equal((await api('GET', `${LOGS}?resource_id=${group.id}`, undefined, 200)).logs.length, 0);
      const ok = await createLog({ resource_id: group.id, target_id: inGroup.id, event: 'DROP' });
      assert.equal(ok.event, 'DROP');
      for (const body of [
        { event: 'ACCEPT' },
        { resource_id: NO_SUCH },
        { target_id: null },
        { resource_type: 'security_group' },
        { enabled: 'maybe' },
      ]) {
        assertError(await s.req('PUT', `${LOGS}/${ok.id}`, { log: body }, ADMIN), 400);
      }
      assertError(await s.req('PUT', `${LOGS}/${NO_SUCH}`, { log: { name: 'x' } }, ADMIN), 404, 'LogResourceNotFound');
      await pushes();
    });

    it('is admin-only by default', async () => {
      const log = await createLog({ name: 'admins' });
      assertError(await s.req('POST', LOGS, { log: { resource_type: 'security_group' } }, ALICE), 403);
      assertError(await s.req('POST', LOGS, { log: { resource_type: 'security_group', tenant_id: ALICE.project } }, ALICE), 403);
      assert.deepEqual((await api('GET', LOGS, undefined, 200, ALICE)).logs, []);
      assertError(await s.req('GET', `${LOGS}/${log.id}`, undefined, ALICE), 404);
      assertError(await s.req('PUT', `${LOGS}/${log.id}`, { log: { name: 'mine' } }, ALICE), 404);
      assertError(await s.req('DELETE', `${LOGS}/${log.id}`, undefined, ALICE), 404);
      assert.equal((await api('GET', `${LOGS}/${log.id}`, undefined, 200)).log.name, 'admins');
      // An admin may log another project's ports.
      const alices = await createLog({ tenant_id: ALICE.project, event: 'ACCEPT' });
      assert.equal(alices.project_id, ALICE.project);
      await api('DELETE', `${LOGS}/${log.id}`, undefined, 204);
      await api('DELETE', `${LOGS}/${alices.id}`, undefined, 204);
      await pushes();
    });

    it('deletes a log with the security group or the port it names', async () => {
      const group = await sg('short-lived');
      const p = await port();
      const bySg = await createLog({ resource_id: group.id });
      const byPort = await createLog({ target_id: p.id });
      // Gone by the time the delete answers (tempest shows the log right after).
      await api('DELETE', `/v2.0/security-groups/${group.id}`, undefined, 204);
      assertError(await s.req('GET', `${LOGS}/${bySg.id}`, undefined, ADMIN), 404, 'LogResourceNotFound');
      assert.equal((await api('GET', `${LOGS}/${byPort.id}`, undefined, 200)).log.id, byPort.id);
      await api('DELETE', `/v2.0/ports/${p.id}`, undefined, 204);
      assertError(await s.req('GET', `${LOGS}/${byPort.id}`, undefined, ADMIN), 404, 'LogResourceNotFound');
      await pushes();
    });

    it('tells the agents which enabled logs bind their ports', async () => {
      const web = await sg('rpc-web', ALICE);
      const db = await sg('rpc-db', ALICE);
      const a = await port({ security_groups: [web.id] }, ALICE);
      const b = await port({ security_groups: [db.id] }, ALICE);
      const theirs = await port();
      const bySg = await createLog({ tenant_id: ALICE.project, resource_id: web.id, event: 'ACCEPT' });
      const byPort = await createLog({ tenant_id: ALICE.project, target_id: b.id, event: 'DROP' });
      const all = await createLog({ tenant_id: ALICE.project });
      const off = await createLog({ tenant_id: ALICE.project, resource_id: db.id, enabled: false });
      const ids = (l: Array<{ id: string }> | undefined) => (l ?? []).map((x) => x.id).sort();
      let r = await info([a.id, b.id, theirs.id, NO_SUCH]);
      assert.deepEqual(ids(r[a.id]), [bySg.id, all.id].sort());
      assert.deepEqual(ids(r[b.id]), [byPort.id, all.id].sort());
      // The admin project's port: none of these logs is of its project.
      assert.equal(r[theirs.id], undefined);
      assert.equal(r[a.id]!.find((x) => x.id === bySg.id)!.event, 'ACCEPT');
      assert.equal(r[a.id]!.find((x) => x.id === bySg.id)!.project_id, ALICE.project);
      await api('PUT', `${LOGS}/${off.id}`, { log: { enabled: true } }, 200);
      await api('PUT', `${LOGS}/${all.id}`, { log: { enabled: false } }, 200);
      r = await info([a.id, b.id]);
      assert.deepEqual(ids(r[a.id]), [bySg.id]);
      assert.deepEqual(ids(r[b.id]), [byPort.id, off.id].sort());
      // Neutron's own call, with the port's rules of the logged groups.
      const neutronShape = await agentBus.call<any[]>('logging-plugin', 'get_sg_log_info_for_port', {
        port_id: a.id,
        resource_type: 'security_group',
      });
      assert.deepEqual(
        neutronShape.map((l) => l.id),
        [bySg.id],
      );
      assert.equal(neutronShape[0].ports_log[0].port_id, a.id);
      assert.ok(neutronShape[0].ports_log[0].security_group_rules.length > 0);
      assert.ok(neutronShape[0].ports_log[0].security_group_rules.every((x: any) => x.security_group_id === web.id));
      for (const l of [bySg, byPort, all, off]) await api('DELETE', `${LOGS}/${l.id}`, undefined, 204);
      await pushes();
    });
  });
}

describe('logging: listed only with the log service plugin', () => {
  it('is absent when service_plugins leaves log out, present by class path', async () => {
    const without = await startServer(sqlite, { DEFAULT: { service_plugins: 'router' } });
    try {
      const aliases = (await without.req('GET', '/v2.0/extensions', undefined, ADMIN)).body.extensions.map((e: any) => e.alias);
      assert.ok(!aliases.includes('logging'));
      assert.equal((await without.req('GET', LOGS, undefined, ADMIN)).status, 404);
    } finally {
      await without.stop();
    }
    const withIt = await startServer(sqlite, { DEFAULT: { service_plugins: 'neutron.services.logapi.logging_plugin.LoggingPlugin' } });
    try {
      const aliases = (await withIt.req('GET', '/v2.0/extensions', undefined, ADMIN)).body.extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('logging'));
    } finally {
      await withIt.stop();
    }
  });
});
