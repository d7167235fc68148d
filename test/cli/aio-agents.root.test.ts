// As root: `neutrino aio` with `[aio] agents = linuxbridge,dhcp` runs the API server and both
// agents in one process on the in-memory bus. The agents manage a namespace made for the test
// (--netns, as a simulated host); a VM plugged there gets ACTIVE and its address by DHCP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNetns, stopDnsmasq } from '../../src/dataplane/index.js';
import { namespaceOf } from '../../src/agents/dhcp/render.js';
import { plug } from '../../src/cli/vif-plug.js';
import { Namespaces, rootGate, suffix, udhcpcLease } from '../dataplane/root-helpers.js';
import { Proc } from '../e2e/two-hosts.js';
import { waitThroughErrors } from '../helpers/wait.js';

const gate = rootGate('aio with agents', ['ip', 'bridge', 'nsenter', 'busybox', 'dnsmasq']);

describe('neutrino aio with [aio] agents (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const HOST = `aio-${s}`;
  const NS = `nt${s}aio`;
  const VM = `nt${s}avm`;
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-aio-agents-'));
  let aio: Proc;
  let url = '';
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}/v2.0${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json().catch(() => null)) as any };
  };

  before(async () => {
    gate.check();
    chmodSync(dir, 0o755); // dnsmasq reads its files as 'nobody'
    await nss.add(NS);
    writeFileSync(
      join(dir, 'aio.conf'),
      ['[DEFAULT]', `host = ${HOST}`, '[aio]', 'agents = linuxbridge,dhcp', '[agent]', 'report_interval = 2', ''].join('\n'),
    );
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
    url = `http://127.0.0.1:${port}`;
    aio = new Proc('aio', [
      'aio',
      '--bind-host',
      '127.0.0.1',
      '--bind-port',
      String(port),
      '--state-path',
      join(dir, 'state'),
      '--config-file',
      join(dir, 'aio.conf'),
      '--netns',
      NS,
    ]);
    await aio.logLine(/aio: agents started in-process/, 20_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${aio.out}`);
    });
  });

  after(async () => {
    await aio?.stop();
    const dhcp = join(dir, 'state', 'dhcp');
    if (existsSync(dhcp)) {
      for (const id of readdirSync(dhcp).filter((d) => /^[0-9a-f-]{36}$/.test(d))) {
        await stopDnsmasq(dhcp, id).catch(() => {});
        await deleteNetns(namespaceOf(id)).catch(() => {});
      }
    }
    await nss.deleteAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('both agents report alive for this host from the aio process', async () => {
    const types = await waitThroughErrors(
      'agents alive',
      async () => {
        const r = await api('GET', `/agents?host=${HOST}`);
        const alive = r.body.agents
          .filter((a: any) => a.alive)
          .map((a: any) => a.agent_type)
          .sort();
        return alive.length === 2 ? alive : null;
      },
      15_000,
    );
    assert.deepEqual(types, ['DHCP agent', 'Linux bridge agent']);
    assert.match(aio.out, /"rpc":"memory"/, 'the in-memory bus');
  });

  it('a VM on a network with DHCP goes ACTIVE and gets its address', async () => {
    const net = (await api('POST', '/networks', { network: { name: 'aio-net' } })).body.network;
    assert.equal(net['provider:network_type'], 'local');
    const sn = await api('POST', '/subnets', { subnet: { network_id: net.id, cidr: '10.78.0.0/24', ip_version: 4 } });
    assert.equal(sn.status, 201, JSON.stringify(sn.body));
    const port = (await api('POST', '/ports', { port: { network_id: net.id, name: 'vm' } })).body.port;
    await nss.add(VM);
    await plug({
      action: 'plug',
      portId: port.id,
      netns: VM,
      host: HOST,
      hostNetns: NS,
      ifname: 'eth0',
      static: false,
      unbind: false,
      endpoint: url,
    });
    await waitThroughErrors('port ACTIVE', async () => (await api('GET', `/ports/${port.id}`)).body.port.status === 'ACTIVE', 15_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${aio.out.slice(-3000)}`);
    });
    const env = await udhcpcLease(VM);
    assert.equal(env.ip, port.fixed_ips[0].ip_address);
    assert.equal(env.router, '10.78.0.1');
  });
});
