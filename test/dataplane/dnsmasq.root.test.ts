// As root: a dnsmasq in a "DHCP namespace" hands a static lease to a client in another namespace
// (busybox udhcpc), reloads its hosts file on SIGHUP, restarts when its arguments change, and a
// pass with nothing changed writes nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dnsmasqPaths,
  dnsmasqStatus,
  ensureDnsmasq,
  processAlive,
  reconcileLinks,
  reloadDnsmasq,
  stats,
  stopDnsmasq,
  type DnsmasqSpec,
} from '../../src/dataplane/index.js';
import { Namespaces, rootGate, suffix, udhcpcLease } from './root-helpers.js';

const gate = rootGate('dnsmasq end-to-end', ['ip', 'nsenter', 'dnsmasq', 'busybox']);

describe('dataplane (root): dnsmasq in a namespace serves DHCP', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const SRV = `nt${s}d`;
  const CLI = `nt${s}c`;
  const MAC = 'fa:16:3e:aa:00:01';
  let dir = '';
  let spec: DnsmasqSpec;

  const lease = () => udhcpcLease(CLI, 'c0', { options: ['mtu'], tries: 5 });

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-dnsmasq-'));
    // dnsmasq gives up root after start; on SIGHUP it re-reads the files as 'nobody'.
    await chmod(dir, 0o755);
    await nss.add(SRV);
    await nss.add(CLI);
    await reconcileLinks([{ kind: 'veth', name: 's0', peer: 'c0', peerNetns: CLI, up: true, addresses: ['198.18.8.1/24'] }], { netns: SRV });
    await reconcileLinks([{ kind: 'external', name: 'c0', address: MAC, up: true }], { netns: CLI });
    spec = {
      id: `net-${s}`,
      stateDir: dir,
      netns: SRV,
      interface: 's0',
      hosts: `${MAC},198.18.8.10,vm1\n`,
      opts: 'option:router,198.18.8.1\noption:mtu,1450\n',
      args: ['--dhcp-range=set:sub1,198.18.8.0,static,255.255.255.0,120s', '--port=0', '--dhcp-authoritative'],
    };
  });
  after(async () => {
    if (spec) await stopDnsmasq(spec.stateDir, spec.id).catch(() => {});
    await nss.deleteAll();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts, and the client gets its static lease with the options', async () => {
    assert.equal(await ensureDnsmasq(spec), 'started');
    const st = await dnsmasqStatus(spec.stateDir, spec.id);
    assert.ok(st, 'pid file points at our dnsmasq');
    const env = await lease();
    assert.equal(env.ip, '198.18.8.10');
    assert.equal(env.router, '198.18.8.1');
    assert.equal(env.mtu, '1450');
    assert.equal(env.subnet, '255.255.255.0');
    const leases = await readFile(dnsmasqPaths(spec.stateDir, spec.id).leases, 'utf8');
    assert.match(leases, new RegExp(`${MAC} 198\\.18\\.8\\.10 vm1`));
  });

  it('a pass with nothing changed writes nothing', async () => {
    const w0 = stats().writes;
    assert.equal(await ensureDnsmasq(spec), 'none');
    assert.equal(stats().writes - w0, 0);
  });

  it('a hosts change is a file rewrite plus SIGHUP, and the client gets the new address', async () => {
    const pid = (await dnsmasqStatus(spec.stateDir, spec.id))!.pid;
    spec = { ...spec, hosts: `${MAC},198.18.8.11,vm1\n` };
    const w0 = stats().writes;
    assert.equal(await ensureDnsmasq(spec), 'reloaded');
    assert.equal(stats().writes - w0, 2, 'hosts file + signal');
    assert.equal((await dnsmasqStatus(spec.stateDir, spec.id))!.pid, pid, 'same process');
    assert.equal((await lease()).ip, '198.18.8.11');
    assert.equal(await reloadDnsmasq(spec.stateDir, spec.id), true);
  });

  it('an argument change restarts it', async () => {
    const pid = (await dnsmasqStatus(spec.stateDir, spec.id))!.pid;
    spec = { ...spec, args: [...spec.args!, '--dhcp-lease-max=64'] };
    assert.equal(await ensureDnsmasq(spec), 'restarted');
    const st = await dnsmasqStatus(spec.stateDir, spec.id);
    assert.ok(st && st.pid !== pid);
    assert.ok(st.argv.includes('--dhcp-lease-max=64'));
    assert.equal((await lease()).ip, '198.18.8.11');
  });

  it('a stale pid file is not mistaken for our dnsmasq; a stray copy is found and replaced', async () => {
    const paths = dnsmasqPaths(spec.stateDir, spec.id);
    const pid = (await dnsmasqStatus(spec.stateDir, spec.id))!.pid;
    await writeFile(paths.pid, `${process.pid}\n`); // a live process, but not dnsmasq
    assert.equal(await dnsmasqStatus(spec.stateDir, spec.id), null);
    assert.equal(await ensureDnsmasq(spec), 'started', 'the old copy is killed, a new one started');
    const st = await dnsmasqStatus(spec.stateDir, spec.id);
    assert.ok(st && st.pid !== pid);
    assert.equal((await lease()).ip, '198.18.8.11');
  });

  it('stops', async () => {
    const pid = (await dnsmasqStatus(spec.stateDir, spec.id))!.pid;
    assert.equal(await stopDnsmasq(spec.stateDir, spec.id), true);
    assert.equal(await dnsmasqStatus(spec.stateDir, spec.id), null);
    assert.equal(await processAlive(pid), false);
    assert.equal(await stopDnsmasq(spec.stateDir, spec.id), false);
  });
});
