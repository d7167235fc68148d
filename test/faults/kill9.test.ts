// kill -9 of `neutrino server` in the middle of a burst of port creates, on each backend: after a
// restart every 201 the clients saw is in the database with its IPs and MAC, nothing is
// half-written (a port without its addresses or security group binding, an address without its
// port), no port appears that no client asked for, and quota usage counts what is there.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, skipUnless, type Backend } from '../helpers/backends.js';
import { adminReq, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { openDb } from '../../src/db/connection.js';

const WORKERS = 24;
const KILL_AFTER = 120; // 201s seen before the kill

// Asked before any test starts (a busy machine can time the check out).
const skips = await Promise.all(BACKENDS.map((b) => skipUnless(b)));

for (const [i, backend] of BACKENDS.entries()) {
  describe(`kill -9 mid-burst on ${backend.name}`, { skip: skips[i]! }, () => {
    let made: Awaited<ReturnType<Backend['create']>>;
    let dir: string;
    let server: ServerProcess | null = null;
    before(async () => {
      made = await backend.create();
      dir = mkdtempSync(join(tmpdir(), 'neutrino-kill9-'));
    });
    after(async () => {
      await server?.kill();
      await made?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('every 201 survives with its IPs and MAC; nothing half-written; quota usage matches', async () => {
      const ini = { database: { connection: made.url }, quotas: { quota_port: '-1' } };
      server = await spawnServer(dir, ini);
      const url = server.url;
      const net = await adminReq(url, 'POST', '/v2.0/networks', { network: { name: 'kill9' } });
      assert.equal(net.status, 201, JSON.stringify(net.body));
      const networkId = net.body.network.id as string;
      const sub = await adminReq(url, 'POST', '/v2.0/subnets', { subnet: { network_id: networkId, ip_version: 4, cidr: '10.99.0.0/20' } });
      assert.equal(sub.status, 201, JSON.stringify(sub.body));

      const seen = new Map<string, { id: string; mac: string; ips: string[] }>(); // name -> what the 201 said
      const unanswered = new Set<string>(); // sent, no answer: may or may not have committed
      const others: string[] = [];
      let n = 0;
      let killed = false;
      const worker = async () => {
        while (!killed) {
          const name = `k9-${n++}`;
          try {
            const r = await adminReq(url, 'POST', '/v2.0/ports', { port: { network_id: networkId, name } });
            if (r.status === 201) {
              const p = r.body.port;
              seen.set(name, { id: p.id, mac: p.mac_address, ips: p.fixed_ips.map((f: { ip_address: string }) => f.ip_address) });
              if (seen.size >= KILL_AFTER && !killed) {
                killed = true;
                server!.proc.kill('SIGKILL');
              }
            } else others.push(`${r.status} ${JSON.stringify(r.body)}`);
          } catch {
            unanswered.add(name);
            if (killed) return;
          }
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, worker));
      const exit = await server.exited;
      assert.equal(exit.signal, 'SIGKILL');
      assert.deepEqual(others, [], 'no other answer than 201 before the kill');
      assert.ok(seen.size >= KILL_AFTER);

      // The database as the dead server left it.
      const db = openDb(made.url, 1);
      try {
        const ports = await db.kysely.selectFrom('ports').select(['id', 'name', 'mac_address']).where('network_id', '=', networkId).execute();
        const allocs = await db.kysely.selectFrom('ip_allocations').select(['port_id', 'ip_address']).where('network_id', '=', networkId).execute();
        const sgBindings = await db.kysely.selectFrom('security_group_port_bindings').select(['port_id']).execute();
        const byName = new Map(ports.map((p) => [p.name, p]));
        for (const [name, want] of seen) {
          const got = byName.get(name);
          assert.ok(got, `port ${name} (${want.id}) answered 201 but is not in the database`);
          assert.equal(got.id, want.id);
          assert.equal(got.mac_address, want.mac);
          assert.deepEqual(
            allocs.filter((a) => a.port_id === want.id).map((a) => a.ip_address),
            want.ips,
            `${name}: its addresses`,
          );
        }
        const extra = ports.filter((p) => !seen.has(p.name) && !unanswered.has(p.name));
        assert.deepEqual(extra, [], 'no port that no client asked for (or was told failed)');
        const portIds = new Set(ports.map((p) => p.id));
        for (const p of ports) {
          assert.ok(
            allocs.some((a) => a.port_id === p.id),
            `port ${p.name} has no address`,
          );
          assert.equal(sgBindings.filter((b) => b.port_id === p.id).length, 1, `port ${p.name} has its security group binding`);
        }
        for (const a of allocs) assert.ok(portIds.has(a.port_id), `address ${a.ip_address} belongs to no port`);
        assert.equal(new Set(allocs.map((a) => a.ip_address)).size, allocs.length, 'no address twice');
        assert.equal(new Set(ports.map((p) => p.mac_address)).size, ports.length, 'no MAC twice');
        console.log(
          `# kill -9 on ${backend.name}: ${seen.size} ports answered 201, ${unanswered.size} requests unanswered, ${ports.length - seen.size} of those committed`,
        );

        // A restarted server serves them and counts them in the quota usage.
        server = await spawnServer(dir, ini);
        const listed = await adminReq(server.url, 'GET', `/v2.0/ports?network_id=${networkId}&fields=id`);
        assert.equal(listed.body.ports.length, ports.length);
        const usage = await adminReq(server.url, 'GET', '/v2.0/quotas/admin-project/details');
        assert.equal(usage.body.quota.port.used, ports.length);
        const again = await adminReq(server.url, 'POST', '/v2.0/ports', { port: { network_id: networkId, name: 'after' } });
        assert.equal(again.status, 201, JSON.stringify(again.body));
        assert.ok(!allocs.some((a) => a.ip_address === again.body.port.fixed_ips[0].ip_address), 'a new port gets a free address');
      } finally {
        await db.close();
      }
    });
  });
}
