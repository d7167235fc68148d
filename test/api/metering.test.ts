// Metering labels and label rules on every backend, through the real HTTP server: CRUD, Neutron's
// prefix rules and overlap conflicts (also under concurrency), cascading deletes, no updates, and
// the admin-only default policy.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type Caller, type TestServer } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

const LABELS = '/v2.0/metering/metering-labels';
const RULES = '/v2.0/metering/metering-label-rules';

for (const backend of BACKENDS) {
  describe(`metering on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    const label = async (body: object = {}, as: Caller = ADMIN) => {
      const r = await s.req('POST', LABELS, { metering_label: { name: 'l', ...body } }, as);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.metering_label;
    };
    const rule = (body: object, as: Caller = ADMIN) => s.req('POST', RULES, { metering_label_rule: { direction: 'ingress', ...body } }, as);

    it('lists the metering extensions', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions')).body.extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('metering'));
      assert.ok(aliases.includes('metering_source_and_destination_fields'));
    });

    it('creates, shows, lists (with filters) and deletes a label', async () => {
      const l = await label({ name: 'web', description: 'web traffic', tenant_id: 'project-alice' });
      assert.deepEqual(Object.keys(l).sort(), ['description', 'id', 'name', 'project_id', 'shared', 'tenant_id']);
      assert.equal(l.name, 'web');
      assert.equal(l.description, 'web traffic');
      assert.equal(l.shared, false);
      assert.equal(l.tenant_id, 'project-alice');
      assert.equal(l.project_id, 'project-alice');
      const shown = await s.req('GET', `${LABELS}/${l.id}`, undefined, ADMIN);
      assert.deepEqual(shown.body.metering_label, l);
      const shared = await label({ name: 'all', shared: true });
      assert.equal(shared.shared, true);
      const byShared = await s.req('GET', `${LABELS}?shared=true`, undefined, ADMIN);
      assert.deepEqual(
        byShared.body.metering_labels.map((x: any) => x.id),
        [shared.id],
      );
      const byName = await s.req('GET', `${LABELS}?name=web&fields=id&fields=name`, undefined, ADMIN);
      assert.deepEqual(byName.body.metering_labels, [{ id: l.id, name: 'web' }]);
      // Tempest lists with id=33: no match, not an error.
      const none = await s.req('GET', `${LABELS}?id=33`, undefined, ADMIN);
      assert.equal(none.status, 200);
      assert.deepEqual(none.body.metering_labels, []);
      const sorted = await s.req('GET', `${LABELS}?sort_key=name&sort_dir=desc`, undefined, ADMIN);
      assert.deepEqual(
        sorted.body.metering_labels.map((x: any) => x.name),
        ['web', 'all'],
      );
      assert.equal((await s.req('DELETE', `${LABELS}/${l.id}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('DELETE', `${LABELS}/${shared.id}`, undefined, ADMIN)).status, 204);
      assertError(
        await s.req('GET', `${LABELS}/${l.id}`, undefined, ADMIN),
        404,
        'MeteringLabelNotFound',
        `Metering label '${l.id}' does not exist.`,
      );
      assertError(await s.req('DELETE', `${LABELS}/${l.id}`, undefined, ADMIN), 404, 'MeteringLabelNotFound');
    });

    it('validates label input and refuses updates', async () => {
      assertError(await s.req('POST', LABELS, { metering_label: { name: 'x'.repeat(256) } }, ADMIN), 400);
      assertError(await s.req('POST', LABELS, { metering_label: { description: 'x'.repeat(1025) } }, ADMIN), 400);
      assert.equal((await s.req('POST', LABELS, { metering_label: { description: 'x'.repeat(1024) } }, ADMIN)).status, 201);
      assertError(await s.req('POST', LABELS, { metering_label: { shared: 'maybe' } }, ADMIN), 400);
      assertError(await s.req('POST', LABELS, { metering_label: { bogus: 1 } }, ADMIN), 400);
      const l = await label();
      assertError(await s.req('PUT', `${LABELS}/${l.id}`, { metering_label: { name: 'new' } }, ADMIN), 400, undefined, 'name');
      assertError(await s.req('PUT', `${LABELS}/${l.id}`, { metering_label: {} }, ADMIN), 501, 'NotImplementedError');
    });

    it('creates, shows, lists and deletes rules with remote, source and destination prefixes', async () => {
      const l = await label();
      const r = await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.0.0/24' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const rr = r.body.metering_label_rule;
      assert.deepEqual(rr, {
        id: rr.id,
        metering_label_id: l.id,
        direction: 'ingress',
        excluded: false,
        remote_ip_prefix: '10.0.0.0/24',
        source_ip_prefix: null,
        destination_ip_prefix: null,
      });
      const shown = await s.req('GET', `${RULES}/${rr.id}`, undefined, ADMIN);
      assert.deepEqual(shown.body.metering_label_rule, rr);
      const sd = await rule({
        metering_label_id: l.id,
        direction: 'egress',
        excluded: true,
        source_ip_prefix: '192.168.0.0/16',
        destination_ip_prefix: '2001:DB8:0::/48',
      });
      assert.equal(sd.status, 201, JSON.stringify(sd.body));
      assert.equal(sd.body.metering_label_rule.remote_ip_prefix, null);
      assert.equal(sd.body.metering_label_rule.source_ip_prefix, '192.168.0.0/16');
      assert.equal(sd.body.metering_label_rule.destination_ip_prefix, '2001:db8::/48', 'IPv6 prefixes are written canonically');
      assert.equal(sd.body.metering_label_rule.excluded, true);
      // A bare address is a host prefix; host bits are kept as given (netaddr's IPNetwork text).
      const host = await rule({ metering_label_id: l.id, direction: 'egress', remote_ip_prefix: '172.16.0.5' });
      assert.equal(host.body.metering_label_rule.remote_ip_prefix, '172.16.0.5/32');
      const mask = await rule({ metering_label_id: l.id, direction: 'egress', remote_ip_prefix: '172.17.0.1/255.255.255.0' });
      assert.equal(mask.body.metering_label_rule.remote_ip_prefix, '172.17.0.1/24');

      const byLabel = await s.req('GET', `${RULES}?metering_label_id=${l.id}&sort_key=direction&sort_dir=desc`, undefined, ADMIN);
      assert.equal(byLabel.body.metering_label_rules.length, 4);
      assert.equal(byLabel.body.metering_label_rules[0].id, rr.id, 'ingress sorts after egress, first when descending');
      const byExcluded = await s.req('GET', `${RULES}?metering_label_id=${l.id}&excluded=true`, undefined, ADMIN);
      assert.deepEqual(
        byExcluded.body.metering_label_rules.map((x: any) => x.id),
        [sd.body.metering_label_rule.id],
      );
      const byPrefix = await s.req('GET', `${RULES}?remote_ip_prefix=10.0.0.0/24`, undefined, ADMIN);
      assert.deepEqual(
        byPrefix.body.metering_label_rules.map((x: any) => x.id),
        [rr.id],
      );
      assertError(await s.req('GET', `${RULES}?project_id=x`, undefined, ADMIN), 400);
      assert.deepEqual((await s.req('GET', `${RULES}?id=33`, undefined, ADMIN)).body.metering_label_rules, []);

      assert.equal((await s.req('DELETE', `${RULES}/${rr.id}`, undefined, ADMIN)).status, 204);
      assertError(
        await s.req('GET', `${RULES}/${rr.id}`, undefined, ADMIN),
        404,
        'MeteringLabelRuleNotFound',
        `Metering label rule '${rr.id}' does not exist.`,
      );
      assertError(await s.req('DELETE', `${RULES}/${rr.id}`, undefined, ADMIN), 404, 'MeteringLabelRuleNotFound');
      assertError(await s.req('PUT', `${RULES}/${host.body.metering_label_rule.id}`, { metering_label_rule: {} }, ADMIN), 501, 'NotImplementedError');
    });

    it('validates rules as Neutron does', async () => {
      const l = await label();
      assertError(await rule({ metering_label_id: l.id }), 400, 'Invalid', 'at least one');
      assertError(await rule({ metering_label_id: l.id, remote_ip_prefix: '' }), 400, 'Invalid', 'at least one');
      assertError(
        await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.0.0/24', source_ip_prefix: '10.1.0.0/24' }),
        400,
        'Invalid',
        "Cannot use 'remote-ip-prefix'",
      );
      assertError(
        await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.0.0/33' }),
        400,
        'Invalid',
        'remote_ip_prefix: 10.0.0.0/33 is invalid',
      );
      assertError(await rule({ metering_label_id: l.id, source_ip_prefix: 'nonsense' }), 400, 'Invalid', 'source_ip_prefix');
      assertError(await rule({ metering_label_id: l.id, destination_ip_prefix: 12 }), 400, 'Invalid', 'destination_ip_prefix');
      assertError(await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.0.0/24', direction: 'sideways' }), 400, undefined, 'direction');
      assertError(
        await s.req('POST', RULES, { metering_label_rule: { metering_label_id: l.id, remote_ip_prefix: '10.0.0.0/24' } }, ADMIN),
        400,
        undefined,
        "'direction'",
      );
      assertError(await rule({ remote_ip_prefix: '10.0.0.0/24' }), 400, undefined, "'metering_label_id'");
      assertError(await rule({ metering_label_id: 'not-a-uuid', remote_ip_prefix: '10.0.0.0/24' }), 400);
      const missing = '00000000-0000-4000-8000-000000000000';
      assertError(await rule({ metering_label_id: missing, remote_ip_prefix: '10.0.0.0/24' }), 404, 'MeteringLabelNotFound', missing);
      // Nothing half-written: the label still has no rules.
      assert.deepEqual((await s.req('GET', `${RULES}?metering_label_id=${l.id}`, undefined, ADMIN)).body.metering_label_rules, []);
    });

    it('refuses overlapping remote prefixes in one label, direction and excluded flag only', async () => {
      const l = await label();
      const other = await label();
      assert.equal((await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.0.0/16' })).status, 201);
      assertError(
        await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.5.0/24' }),
        409,
        'MeteringLabelRuleOverlaps',
        "Metering label rule with remote_ip_prefix '10.0.5.0/24' overlaps another.",
      );
      assertError(await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.0.0/8' }), 409, 'MeteringLabelRuleOverlaps');
      // Host bits do not hide an overlap: 10.0.9.9/24 is the network 10.0.9.0/24.
      assertError(await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.9.9/24' }), 409, 'MeteringLabelRuleOverlaps');
      assert.equal((await rule({ metering_label_id: l.id, remote_ip_prefix: '10.1.0.0/16' })).status, 201, 'adjacent prefixes do not overlap');
      assert.equal((await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.5.0/24', direction: 'egress' })).status, 201);
      assert.equal((await rule({ metering_label_id: l.id, remote_ip_prefix: '10.0.5.0/24', excluded: true })).status, 201);
      assert.equal((await rule({ metering_label_id: other.id, remote_ip_prefix: '10.0.5.0/24' })).status, 201);
      assert.equal((await rule({ metering_label_id: l.id, remote_ip_prefix: '::/0' })).status, 201, 'IPv6 never overlaps IPv4');
      // Source/destination prefixes are not compared (as in Neutron).
      assert.equal((await rule({ metering_label_id: l.id, source_ip_prefix: '10.0.5.0/24' })).status, 201);
      // A bulk create is checked against its own earlier items and is all or nothing.
      const bulk = await s.req(
        'POST',
        RULES,
        {
          metering_label_rules: [
            { metering_label_id: other.id, direction: 'egress', remote_ip_prefix: '172.16.0.0/12' },
            { metering_label_id: other.id, direction: 'egress', remote_ip_prefix: '172.16.1.0/24' },
          ],
        },
        ADMIN,
      );
      assertError(bulk, 409, 'MeteringLabelRuleOverlaps');
      assert.deepEqual(
        (await s.req('GET', `${RULES}?metering_label_id=${other.id}&direction=egress`, undefined, ADMIN)).body.metering_label_rules,
        [],
      );
    });

    it('20 concurrent overlapping rules on one label: exactly one is created', async () => {
      // Nested prefixes 10.0.0.0/8 ... /27: every two of them overlap.
      const l = await label();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => rule({ metering_label_id: l.id, remote_ip_prefix: `10.0.0.0/${8 + i}` })),
      );
      assert.equal(results.filter((r) => r.status === 201).length, 1, JSON.stringify(results.map((r) => r.status)));
      for (const r of results.filter((x) => x.status !== 201)) assertError(r, 409, 'MeteringLabelRuleOverlaps');
      const stored = (await s.req('GET', `${RULES}?metering_label_id=${l.id}`, undefined, ADMIN)).body.metering_label_rules;
      assert.equal(stored.length, 1);
    });

    it('deleting a label deletes its rules', async () => {
      const l = await label();
      const ids: string[] = [];
      for (const p of ['10.9.0.0/24', '10.9.1.0/24'])
        ids.push((await rule({ metering_label_id: l.id, remote_ip_prefix: p })).body.metering_label_rule.id);
      assert.equal((await s.req('DELETE', `${LABELS}/${l.id}`, undefined, ADMIN)).status, 204);
      for (const id of ids) assertError(await s.req('GET', `${RULES}/${id}`, undefined, ADMIN), 404, 'MeteringLabelRuleNotFound');
    });

    it('is admin-only by default; a project reader sees its own labels', async () => {
      assertError(await s.req('POST', LABELS, { metering_label: { name: 'mine' } }, ALICE), 403, 'PolicyNotAuthorized');
      const mine = await label({ name: 'alice', tenant_id: ALICE.project });
      const theirs = await label({ name: 'bob', tenant_id: 'project-bob' });
      const r = await rule({ metering_label_id: mine.id, remote_ip_prefix: '10.77.0.0/24' });
      assert.equal((await s.req('GET', `${LABELS}/${mine.id}`, undefined, ALICE)).body.metering_label.name, 'alice');
      assertError(await s.req('GET', `${LABELS}/${theirs.id}`, undefined, ALICE), 404, 'MeteringLabelNotFound');
      const listed = (await s.req('GET', LABELS, undefined, ALICE)).body.metering_labels.map((x: any) => x.id);
      assert.deepEqual(listed, [mine.id]);
      assertError(await s.req('DELETE', `${LABELS}/${mine.id}`, undefined, ALICE), 403, 'PolicyNotAuthorized');
      assertError(await rule({ metering_label_id: mine.id, remote_ip_prefix: '10.78.0.0/24' }, ALICE), 403, 'PolicyNotAuthorized');
      // Rules have no owner of their own: only admins read them.
      assertError(await s.req('GET', `${RULES}/${r.body.metering_label_rule.id}`, undefined, ALICE), 404, 'MeteringLabelRuleNotFound');
      assert.deepEqual((await s.req('GET', RULES, undefined, ALICE)).body.metering_label_rules, []);
      assertError(await s.req('DELETE', `${RULES}/${r.body.metering_label_rule.id}`, undefined, ALICE), 404, 'MeteringLabelRuleNotFound');
    });
  });
}
