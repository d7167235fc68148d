// The fuzz suite (issue 11): requests generated from the resource definitions (test/helpers/
// fuzz-requests.ts) against a server holding one of everything. Every answer is a 2xx, or a 4xx
// NeutronError whose message is bounded, never a 5xx; a created port is in the database with the
// MAC and addresses its answer showed; afterwards the database is consistent.
//
// CI runs a fixed seed and a bounded count per backend. By hand, a longer run with a random seed:
//   NEUTRINO_FUZZ_SEED=random NEUTRINO_FUZZ_RUNS=5000 node scripts/run-tests.mjs test/api/fuzz.test.js
// (NEUTRINO_FUZZ_BACKEND=sqlite|postgres|mysql runs one backend).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { ALL_DEFS, RequestModel, type FuzzRequest, type Seen } from '../helpers/fuzz-requests.js';
import { dbInconsistencies, portInDb } from '../helpers/db-invariants.js';
import { MAX_MESSAGE_LENGTH } from '../../src/core/errors.js';
import type { ResourceDef } from '../../src/core/definition.js';

const SEED = process.env.NEUTRINO_FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.NEUTRINO_FUZZ_SEED ?? 20261207);
const RUNS = Number(process.env.NEUTRINO_FUZZ_RUNS ?? 1000);

/** One backend only (sqlite, postgres or mysql), for runs by hand. */
const ONLY = process.env.NEUTRINO_FUZZ_BACKEND;

const cut = (s: string | undefined, n = 400) => (s === undefined ? '' : s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s);

/** One of everything the definitions describe, so that generated ids and values find real rows. */
async function fixtures(s: TestServer): Promise<void> {
  const post = async (path: string, body: unknown, as = ALICE) => {
    const r = await s.req('POST', path, body, as);
    assert.ok(r.status < 300, `fixture ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const net = (await post('/v2.0/networks', { network: { name: 'fuzz-net', tags: undefined } })).network;
  const v4 = (await post('/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.77.0.0/24', name: 'fuzz-v4' } })).subnet;
  await post('/v2.0/subnets', {
    subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8:77::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' },
  });
  const port = (await post('/v2.0/ports', { port: { network_id: net.id, name: 'fuzz-port' } })).port;
  await s.req('PUT', `/v2.0/networks/${net.id}/tags/fuzz-tag`, undefined, ALICE);
  const ext = (await post('/v2.0/networks', { network: { name: 'fuzz-ext', 'router:external': true } }, ADMIN)).network;
  await post('/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '172.31.77.0/24', tenant_id: ADMIN.project } }, ADMIN);
  const router = (await post('/v2.0/routers', { router: { name: 'fuzz-router', external_gateway_info: { network_id: ext.id } } })).router;
  await s.req('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: v4.id });
  await post('/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, port_id: port.id } });
  const sg = (await post('/v2.0/security-groups', { security_group: { name: 'fuzz-sg' } })).security_group;
  await post('/v2.0/security-group-rules', {
    security_group_rule: { security_group_id: sg.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 },
  });
  const qos = (await post('/v2.0/qos/policies', { policy: { name: 'fuzz-qos' } }, ADMIN)).policy;
  await post(`/v2.0/qos/policies/${qos.id}/bandwidth_limit_rules`, { bandwidth_limit_rule: { max_kbps: 1000 } }, ADMIN);
  const scope = (await post('/v2.0/address-scopes', { address_scope: { name: 'fuzz-scope', ip_version: 4 } })).address_scope;
  await post('/v2.0/subnetpools', {
    subnetpool: { name: 'fuzz-pool', prefixes: ['10.200.0.0/16'], default_prefixlen: 24, address_scope_id: scope.id },
  });
  const label = (await post('/v2.0/metering/metering-labels', { metering_label: { name: 'fuzz-label' } }, ADMIN)).metering_label;
  await post(
    '/v2.0/metering/metering-label-rules',
    { metering_label_rule: { metering_label_id: label.id, remote_ip_prefix: '10.0.0.0/8', direction: 'ingress' } },
    ADMIN,
  );
  const parent = (await post('/v2.0/ports', { port: { network_id: net.id, name: 'fuzz-trunk-parent' } })).port;
  const sub = (await post('/v2.0/ports', { port: { network_id: net.id, name: 'fuzz-subport' } })).port;
  await post('/v2.0/trunks', { trunk: { port_id: parent.id, sub_ports: [{ port_id: sub.id, segmentation_type: 'vlan', segmentation_id: 101 }] } });
}

/** Ids and attribute values of every served collection, as an admin lists them. */
async function observe(s: TestServer): Promise<{ seen: Seen; served: ResourceDef[] }> {
  const seen: Seen = { ids: {}, values: {}, parents: {} };
  const served: ResourceDef[] = [];
  const qosPolicies = ((await s.req('GET', '/v2.0/qos/policies', undefined, ADMIN)).body?.policies ?? []).map((p: { id: string }) => p.id);
  for (const def of ALL_DEFS) {
    const ops = def.operations ?? ['list'];
    if (def.parentPath) seen.parents[def.collection] = qosPolicies;
    if (!ops.includes('list')) {
      served.push(def);
      continue;
    }
    const path = def.parentPath ? `/v2.0/${def.parentPath}/${qosPolicies[0]}/${def.path ?? def.collection}` : `/v2.0/${def.path ?? def.collection}`;
    const r = await s.req('GET', path, undefined, ADMIN);
    if (r.status !== 200) continue;
    served.push(def);
    const items: Array<Record<string, unknown>> = r.body[def.collection] ?? [];
    seen.ids[def.collection] = items.map((i) => i.id).filter((id): id is string => typeof id === 'string');
    const values: Record<string, unknown[]> = {};
    for (const item of items) for (const [k, v] of Object.entries(item)) (values[k] ??= []).push(v);
    seen.values[def.collection] = values;
  }
  return { seen, served };
}

for (const backend of BACKENDS.filter((b) => !ONLY || b.name === ONLY)) {
  describe(`fuzz on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
      await fixtures(s);
    });
    after(async () => {
      await s?.stop();
    });

    it(`answers ${RUNS} generated requests (seed ${SEED}) with a 2xx or a bounded 4xx NeutronError, and leaves the database consistent`, async () => {
      const { seen, served } = await observe(s);
      assert.ok(served.length >= 15, `served collections: ${served.map((d) => d.collection).join(', ')}`);
      const model = new RequestModel(seen, served);
      const statuses = new Map<number, number>();
      const send = async (r: FuzzRequest) => {
        const res = await s.req(r.method, r.path, r.body, r.as);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (process.env.NEUTRINO_FUZZ_VERBOSE)
          console.log(`${r.method} ${cut(r.path, 80)} -> ${res.status} ${cut(res.body?.NeutronError?.message ?? '', 120)}`);
        const what = `${r.method} ${cut(r.path)} as ${r.as.user}\nbody: ${cut(r.body)}\n-> ${res.status} ${cut(JSON.stringify(res.body))}`;
        // 501 NotImplementedError is Neutron's own answer to an operation its plugin lacks (a
        // security group rule update): kept for compatibility, the one 5xx that is no fault.
        const notImplemented = res.status === 501 && res.body?.NeutronError?.type === 'NotImplementedError';
        assert.ok(res.status < 500 || notImplemented, `server error for ${what}`);
        if (res.status >= 400) {
          const e = res.body?.NeutronError;
          assert.ok(e && typeof e.type === 'string' && typeof e.message === 'string' && 'detail' in e, `not a NeutronError: ${what}`);
          assert.ok(e.message.length <= MAX_MESSAGE_LENGTH, `message of ${e.message.length} chars: ${what}`);
        }
        // A created port is in the database with the MAC and addresses its answer showed.
        if (r.method === 'POST' && r.path === '/v2.0/ports' && res.status === 201) {
          const created: Array<{ id: string; mac_address: string; fixed_ips: Array<{ subnet_id: string; ip_address: string }> }> = res.body.ports ?? [
            res.body.port,
          ];
          for (const p of created) {
            const stored = await portInDb(s.server.db.kysely, p.id);
            assert.deepEqual(
              stored,
              { mac: p.mac_address, ips: p.fixed_ips.map((f) => `${f.subnet_id}/${f.ip_address}`).sort() },
              `port ${p.id} as answered vs as stored: ${what}`,
            );
          }
        }
      };
      await fc.assert(
        fc.asyncProperty(model.request(), async (r) => {
          await send(r);
        }),
        { seed: SEED, numRuns: RUNS, verbose: 0 },
      );
      console.log(
        `fuzz on ${backend.name}: seed ${SEED}, ${RUNS} requests over ${served.length} collections; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
      );
      assert.deepEqual(await dbInconsistencies(s.server.db.kysely), []);
    });
  });
}
