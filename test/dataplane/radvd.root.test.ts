// As root: dataplane/radvd.ts against the real radvd in a namespace. One pass starts it; the same
// configuration again writes nothing (the running instance is recognised); a changed
// configuration is a SIGHUP to the same process, whose advertisements then carry the new prefix
// (seen by a host on the other end of a veth); the namespace re-created under the same name is
// a restart; stop removes the process and its files.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNetns, ensureRadvd, IpBatch, radvdPaths, radvdPid, runInNetns, stats, stopRadvd } from '../../src/dataplane/index.js';
import { Namespaces, rootGate, suffix } from './root-helpers.js';
import { waitFor } from '../helpers/wait.js';

const gate = rootGate('radvd', ['ip', 'nsenter', 'radvd', 'sysctl']);

const conf = (prefix: string) =>
  `interface rt0\n{\n   AdvSendAdvert on;\n   MinRtrAdvInterval 3;\n   MaxRtrAdvInterval 4;\n   prefix ${prefix}\n   {\n        AdvOnLink on;\n        AdvAutonomous on;\n   };\n};\n`;

describe('radvd in a namespace (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const R = `nt${s}ra`;
  const H = `nt${s}rh`;
  let dir = '';
  const id = 'router-1';

  const hostAddrs = async () => {
    const r = await runInNetns(H, { argv: ['ip', '-json', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'] });
    return (JSON.parse(r.stdout || '[]') as any[]).flatMap((l) => l.addr_info ?? []).flatMap((a: any) => (a.local ? [String(a.local)] : []));
  };

  before(async () => {
    gate.check();
    dir = mkdtempSync(join(tmpdir(), 'neutrino-radvd-'));
    await nss.add(R);
    await nss.add(H);
    await new IpBatch().addVeth('rt0', 'eth0', { peerNetns: H }).setUp('rt0', true).apply({ netns: R });
    await new IpBatch().setUp('eth0', true).apply({ netns: H });
    await runInNetns(R, { argv: ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1'], write: true });
  });

  after(async () => {
    if (dir) await stopRadvd(dir, id).catch(() => {});
    await nss.deleteAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts, then the same configuration writes nothing; the host gets an address in the prefix', async () => {
    assert.equal(await ensureRadvd({ id, stateDir: dir, netns: R, config: conf('2001:db8:a::/64') }), 'started');
    const pid = await radvdPid(dir, id);
    assert.ok(pid);
    const w0 = stats().writes;
    assert.equal(await ensureRadvd({ id, stateDir: dir, netns: R, config: conf('2001:db8:a::/64') }), 'none');
    assert.equal(stats().writes, w0);
    await waitFor('SLAAC address in 2001:db8:a::/64', async () => (await hostAddrs()).some((a) => a.startsWith('2001:db8:a:')), 20_000, 50);
  });

  it('a changed configuration is a reload of the same process, advertising the new prefix', async () => {
    const pid = await radvdPid(dir, id);
    assert.equal(await ensureRadvd({ id, stateDir: dir, netns: R, config: conf('2001:db8:b::/64') }), 'reloaded');
    assert.equal(await radvdPid(dir, id), pid);
    await waitFor('SLAAC address in 2001:db8:b::/64', async () => (await hostAddrs()).some((a) => a.startsWith('2001:db8:b:')), 20_000, 50);
  });

  it('a namespace re-created under the same name gets a new radvd; stop removes it and its files', async () => {
    const old = await radvdPid(dir, id);
    await deleteNetns(R);
    await nss.add(R);
    await new IpBatch().line('link', 'add', 'rt0', 'type', 'veth', 'peer', 'name', 'rt1').setUp('rt0', true).apply({ netns: R });
    assert.equal(await ensureRadvd({ id, stateDir: dir, netns: R, config: conf('2001:db8:b::/64') }), 'restarted');
    const pid = await radvdPid(dir, id);
    assert.ok(pid && pid !== old);
    assert.equal(await stopRadvd(dir, id), true);
    assert.equal(await radvdPid(dir, id), null);
    assert.ok(!existsSync(radvdPaths(dir, id).conf) && !existsSync(radvdPaths(dir, id).pid));
    assert.equal(await stopRadvd(dir, id), false);
  });
});
