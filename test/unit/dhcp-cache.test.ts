// The DHCP agent's network cache: ports from the server's casts applied on what it last fetched,
// newest revision kept, deleted ports not brought back by late casts, fetch answers older than
// what the cache holds dropped, and casts heard during a fetch applied again on its answer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DELETED_MAX_AGE_MS, NetworkCache } from '../../src/agents/dhcp/cache.js';
import type { NetworkInfo, PortInfo } from '../../src/agents/dhcp/render.js';

const NET = 'aaaaaaaa-1111-2222-3333-444444444444';
const SUB = '11111111-0000-0000-0000-000000000000';

const port = (n: number, rev = 1, ip = `10.0.0.${n}`): PortInfo => ({
  id: `port-${n}`,
  network_id: NET,
  mac_address: `fa:16:3e:00:00:${String(n).padStart(2, '0')}`,
  device_id: `vm-${n}`,
  device_owner: 'compute:nova',
  fixed_ips: [{ subnet_id: SUB, ip_address: ip }],
  revision_number: rev,
});

const info = (...ports: PortInfo[]): NetworkInfo => ({
  id: NET,
  subnets: [{ id: SUB, network_id: NET, ip_version: 4, cidr: '10.0.0.0/24', gateway_ip: '10.0.0.1', enable_dhcp: true }],
  ports,
});

/** The cached ports as "id@revision:ip", sorted. */
const ports = (c: NetworkCache) =>
  (c.get(NET)?.ports ?? []).map((p) => `${p.id}@${p.revision_number}:${p.fixed_ips.map((f) => f.ip_address).join(',')}`).sort();

function fetched(c: NetworkCache, ...p: PortInfo[]): void {
  const seq = c.beginFetch(NET);
  assert.equal(c.put(NET, info(...p), seq), true);
  c.endFetch(seq);
}

describe('DHCP network cache', () => {
  it('applies created, updated and deleted ports on the fetched network', () => {
    const c = new NetworkCache();
    fetched(c, port(1));
    assert.equal(c.apply(NET, { port: port(2) }), 'applied');
    assert.equal(c.apply(NET, { port: port(1, 2, '10.0.0.11') }), 'applied');
    assert.equal(c.apply(NET, { deleted: 'port-2' }), 'applied');
    assert.deepEqual(ports(c), ['port-1@2:10.0.0.11']);
    assert.equal(c.apply(NET, { deleted: 'port-9' }), 'unchanged');
  });

  it('keeps the newer revision of a port when casts arrive out of order', () => {
    const c = new NetworkCache();
    fetched(c);
    assert.equal(c.apply(NET, { port: port(1, 3, '10.0.0.31') }), 'applied');
    assert.equal(c.apply(NET, { port: port(1, 2, '10.0.0.21') }), 'unchanged');
    assert.equal(c.apply(NET, { port: port(1, 1) }), 'unchanged');
    assert.deepEqual(ports(c), ['port-1@3:10.0.0.31']);
  });

  it("drops a deleted port's late create or update, until DELETED_MAX_AGE_MS has passed", () => {
    let now = 1_000;
    const c = new NetworkCache(() => now);
    fetched(c, port(1));
    assert.equal(c.apply(NET, { deleted: 'port-1' }), 'applied');
    assert.equal(c.apply(NET, { port: port(1, 5) }), 'unchanged');
    // A delete heard before its create: the create stays out too.
    assert.equal(c.apply(NET, { deleted: 'port-2' }), 'unchanged');
    assert.equal(c.apply(NET, { port: port(2) }), 'unchanged');
    assert.deepEqual(ports(c), []);
    // A fetch that still lists a deleted port (read before the delete committed) does not bring it back.
    fetched(c, port(1), port(3));
    assert.deepEqual(ports(c), ['port-3@1:10.0.0.3']);
    now += DELETED_MAX_AGE_MS + 1;
    fetched(c, port(1));
    assert.deepEqual(ports(c), ['port-1@1:10.0.0.1']);
  });

  it('says conflict for an address another cached port holds, and applies it when forced', () => {
    const c = new NetworkCache();
    fetched(c, port(1));
    assert.equal(c.apply(NET, { port: port(2, 1, '10.0.0.1') }), 'conflict');
    assert.deepEqual(ports(c), ['port-1@1:10.0.0.1']);
    // The address freed by an update is free for another port.
    assert.equal(c.apply(NET, { port: port(1, 2, '10.0.0.7') }), 'applied');
    assert.equal(c.apply(NET, { port: port(2, 1, '10.0.0.1') }), 'applied');
    assert.equal(c.apply(NET, { port: port(3, 1, '10.0.0.7') }, true), 'applied');
  });

  it('says unknown for a network never fetched, pending while a fetch of it is in flight', () => {
    const c = new NetworkCache();
    assert.equal(c.apply(NET, { port: port(1) }), 'unknown');
    const seq = c.beginFetch(null);
    assert.equal(c.fetching(NET), true);
    assert.equal(c.apply(NET, { port: port(2) }), 'pending');
    // The answer was read before port 2 was created: the cast is applied on it.
    c.put(NET, info(port(1)), seq);
    c.endFetch(seq);
    assert.equal(c.fetching(NET), false);
    assert.deepEqual(ports(c), ['port-1@1:10.0.0.1', 'port-2@1:10.0.0.2']);
  });

  it('applies the casts heard during a fetch on its answer, in order, and forgets them after', () => {
    const c = new NetworkCache();
    fetched(c, port(1), port(2));
    const seq = c.beginFetch(NET);
    c.apply(NET, { port: port(3) });
    c.apply(NET, { port: port(1, 2, '10.0.0.21') });
    c.apply(NET, { deleted: 'port-2' });
    c.apply(NET, { port: port(4) });
    c.apply(NET, { deleted: 'port-4' });
    // Read before any of them committed.
    assert.equal(c.put(NET, info(port(1), port(2)), seq), true);
    c.endFetch(seq);
    assert.deepEqual(ports(c), ['port-1@2:10.0.0.21', 'port-3@1:10.0.0.3']);
    // A fetch asked after them: they are not applied again (port 5's address change stands).
    c.apply(NET, { port: port(5) });
    fetched(c, port(1, 2, '10.0.0.21'), port(3), port(5, 2, '10.0.0.55'));
    assert.deepEqual(ports(c), ['port-1@2:10.0.0.21', 'port-3@1:10.0.0.3', 'port-5@2:10.0.0.55']);
  });

  it('drops a fetch answer older than what it holds', () => {
    const c = new NetworkCache();
    const older = c.beginFetch(NET);
    const newer = c.beginFetch(null);
    assert.equal(c.put(NET, info(port(1), port(2)), newer), true);
    c.endFetch(newer);
    assert.equal(c.put(NET, info(port(1)), older), false);
    c.endFetch(older);
    assert.deepEqual(ports(c), ['port-1@1:10.0.0.1', 'port-2@1:10.0.0.2']);
    // network_delete_end: gone, and an answer asked before it does not bring the network back.
    const before = c.beginFetch(NET);
    c.gone(NET);
    assert.equal(c.get(NET), null);
    assert.equal(c.put(NET, info(port(1)), before), false);
    c.endFetch(before);
    assert.equal(c.get(NET), null);
    assert.equal(c.apply(NET, { port: port(3) }), 'unchanged');
  });

  it('hands out the ports sorted by id, through fetches and casts', () => {
    const c = new NetworkCache();
    fetched(c, port(5), port(2), port(8));
    c.apply(NET, { port: port(1) });
    c.apply(NET, { port: port(9) });
    c.apply(NET, { port: port(5, 2, '10.0.0.55') });
    c.apply(NET, { port: port(3) });
    c.apply(NET, { deleted: 'port-8' });
    assert.deepEqual(
      c.get(NET)!.ports.map((p) => p.id),
      ['port-1', 'port-2', 'port-3', 'port-5', 'port-9'],
    );
  });

  it('hands out a snapshot: a change after it is not seen in it', () => {
    const c = new NetworkCache();
    fetched(c, port(1));
    const view = c.get(NET)!;
    assert.equal(c.get(NET), view, 'the same view until a change');
    c.apply(NET, { port: port(2) });
    assert.equal(view.ports.length, 1);
    assert.equal(c.get(NET)!.ports.length, 2);
  });
});
