// The operator's page at /ui/ in a real browser: it signs in (Keystone, or open under noauth),
// draws a router with two networks, its gateway and a floating IP, and shows a port created
// through the API without being reloaded (the live feed of after-commit events). Screenshots go
// to artifacts/ui-topology.png (noauth) and artifacts/ui-topology-keystone.png.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, type Caller, startServer, type TestServer } from '../helpers/server.js';
import { KEYSTONE_URL, MEMBER, SERVICE, adminCreds, ensureMemberUser, getToken, keystoneReachable } from '../keystone/keystone-admin.js';
import { browser, closeBrowser, inCI, screenshotPath, skipWithoutChromium } from './browser.js';

const sqlite = BACKENDS.find((b) => b.name === 'sqlite')!;
// Asked before any suite starts: once one runs, a busy event loop could time the probe out.
const keystoneUp = await keystoneReachable();
if (!keystoneUp && !inCI) console.warn(`!! SKIPPING the /ui/ Keystone sign-in test: Keystone is not reachable at ${KEYSTONE_URL}`);
const skipKeystone =
  skipWithoutChromium('the /ui/ Keystone browser test') || (!keystoneUp && !inCI ? `Keystone not reachable at ${KEYSTONE_URL}` : false);

after(closeBrowser);

// Generous: CI runs this beside the rest of the suite on two cores.
const WAIT = { timeout: 30_000 };
// A horizontal line has no height, which Playwright counts as not visible: wait for it in the page.
const DRAWN = { ...WAIT, state: 'attached' } as const;

type Call = (method: string, path: string, body?: unknown) => Promise<any>;

/** A JSON client that fails the test on an unexpected status. */
function caller(s: TestServer, as: Caller, headers: Record<string, string> = {}): Call {
  return async (method, path, body) => {
    const r = await s.req(method, path, body, as, headers);
    assert.ok(r.status < 300, `${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
}

interface Drawn {
  ext: any;
  a: any;
  b: any;
  router: any;
  fip: any;
}

/** An external network (by the admin), and in the project two networks on a router with a gateway, a VM port and its floating IP. */
async function buildTopology(admin: Call, user: Call, prefix: string): Promise<Drawn> {
  const ext = (await admin('POST', '/v2.0/networks', { network: { name: `${prefix}-public`, 'router:external': true } })).network;
  await admin('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '172.24.4.0/24', name: 'public-v4' } });
  const net = async (name: string, cidr: string) => {
    const n = (await user('POST', '/v2.0/networks', { network: { name } })).network;
    const s = (await user('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr } })).subnet;
    return { ...n, subnet: s };
  };
  const a = await net(`${prefix}-net-a`, '10.1.0.0/24');
  const b = await net(`${prefix}-net-b`, '10.2.0.0/24');
  const router = (await user('POST', '/v2.0/routers', { router: { name: `${prefix}-router`, external_gateway_info: { network_id: ext.id } } }))
    .router;
  await user('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: a.subnet.id });
  await user('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: b.subnet.id });
  const vm = (
    await user('POST', '/v2.0/ports', { port: { network_id: a.id, name: 'vm-1', device_owner: 'compute:nova', device_id: crypto.randomUUID() } })
  ).port;
  const fip = (await user('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, port_id: vm.id } })).floatingip;
  return { ext, a, b, router, fip };
}

/** The picture: the router joined to both networks and the external one, and the floating IP. */
async function assertDrawn(page: Page, d: Drawn): Promise<void> {
  const router = page.locator(`svg g[data-kind="router"][data-id="${d.router.id}"]`);
  await router.waitFor(WAIT);
  for (const n of [d.ext, d.a, d.b]) await page.locator(`svg g[data-kind="network"][data-id="${n.id}"]`).waitFor(WAIT);
  for (const n of [d.a, d.b, d.ext]) {
    assert.equal(await router.locator(`g[data-kind="port"][data-network="${n.id}"] line`).count(), 1, `router line to ${n.name}`);
  }
  const fip = page.locator(`svg g[data-kind="fip"][data-address="${d.fip.floating_ip_address}"]`);
  await fip.waitFor(WAIT);
  assert.match((await fip.textContent()) ?? '', new RegExp(`floating IP ${d.fip.floating_ip_address.replaceAll('.', '\\.')} → 10\\.1\\.0\\.`));
  assert.equal(await page.locator('svg g[data-kind="network"][data-external="true"]').count(), 1);
}

/** A port created through the API appears without the page being loaded again. */
async function assertLivePort(page: Page, user: Call, network: any): Promise<any> {
  await page.locator('.live[data-live="live"]').waitFor(WAIT);
  await page.evaluate(() => {
    (window as unknown as { sameDocument: boolean }).sameDocument = true;
  });
  const port = (await user('POST', '/v2.0/ports', { port: { network_id: network.id, name: 'live-port' } })).port;
  await page.locator(`svg g[data-kind="port"][data-id="${port.id}"] line`).waitFor(DRAWN);
  assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'the page was not reloaded');
  return port;
}

describe('/ui/ under noauth', { skip: skipWithoutChromium('the /ui/ browser tests') }, () => {
  let s: TestServer;
  before(async () => {
    s = await startServer(sqlite);
  });
  after(async () => {
    await s?.stop();
  });

  test('draws the topology, follows a new port live, shows agents and ports per host', async () => {
    const d = await buildTopology(caller(s, ADMIN), caller(s, ALICE), 'open');
    const page = await (await browser()).newPage({ viewport: { width: 1100, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${s.url}/ui/`);
    await assertDrawn(page, d);
    // No-auth callers without headers are admins: the admin view is there.
    await page.locator('#agents, section:has(h2:text("Agents")) p').first().waitFor(WAIT);
    const port = await assertLivePort(page, caller(s, ALICE), d.b);
    await page.locator(`#host-ports tr[data-id="${port.id}"]`).waitFor(WAIT);
    await page.screenshot({ path: screenshotPath('ui-topology.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });

  test('the live feed tells a project only of what it may see', async () => {
    const res = await fetch(`${s.url}/ui/events`, { headers: { 'x-project-id': BOB.project!, 'x-roles': BOB.roles! } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const until = async (re: RegExp) => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        assert.ok(!done, `stream ended before ${re}: ${text}`);
        text += value;
      }
    };
    await until(/event: ready/);
    const alices = (await caller(s, ALICE)('POST', '/v2.0/networks', { network: { name: 'alice-only' } })).network;
    const bobs = (await caller(s, BOB)('POST', '/v2.0/networks', { network: { name: 'bob-too' } })).network;
    await until(new RegExp(bobs.id));
    await reader.cancel();
    assert.ok(!text.includes(alices.id), "Bob heard of Alice's network");
    assert.match(text, new RegExp(`event: change\\ndata: \\{"resource":"network","action":"create","id":"${bobs.id}"\\}`));
  });
});

describe('/ui/ files', () => {
  test('the page, its modules from node_modules, and nothing else', async () => {
    const s = await startServer(sqlite);
    try {
      const page = await fetch(`${s.url}/ui/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await page.text(), /"preact": "\.\/vendor\/preact\.mjs"/);
      const preact = await fetch(`${s.url}/ui/vendor/preact.mjs`);
      assert.equal(preact.status, 200);
      assert.match(preact.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.match(await preact.text(), /export\s*\{/);
      const redirect = await fetch(`${s.url}/ui`, { redirect: 'manual' });
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.get('location'), '/ui/');
      for (const path of ['/ui/nothing.js', '/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/vendor/', '/ui/page/app.js']) {
        const r = await s.req('GET', path);
        assert.equal(r.status, 404, path);
        assert.equal(r.body.NeutronError.type, 'HTTPNotFound', path);
      }
      assert.deepEqual((await s.req('GET', '/ui/config')).body, { auth: 'noauth' });
      // Sign-in exists only with Keystone.
      assert.equal((await s.req('POST', '/ui/login', { username: 'a', password: 'b', project: 'c' })).status, 404);
    } finally {
      await s.stop();
    }
  });
});

describe('/ui/ switched off', () => {
  test('[ui] enabled = false: no page, no feed', async () => {
    const s = await startServer(sqlite, { ui: { enabled: 'false' } });
    try {
      assert.equal((await s.req('GET', '/ui/')).status, 404);
      assert.equal((await s.req('GET', '/ui/events')).status, 404);
    } finally {
      await s.stop();
    }
  });
});

describe('/ui/ with Keystone', { skip: skipKeystone }, () => {
  let s: TestServer;
  let adminToken: string;
  let memberToken: string;
  before(async () => {
    assert.ok(keystoneUp, `Keystone is not reachable at ${KEYSTONE_URL} and CI is set: run keystone-setup.sh first`);
    const a = adminCreds();
    adminToken = (await getToken(a.username, a.password, a.project)).token;
    memberToken = (await ensureMemberUser(adminToken)).token;
    s = await startServer(sqlite, {
      DEFAULT: { auth_strategy: 'keystone' },
      keystone_authtoken: {
        auth_url: `${KEYSTONE_URL}/v3`,
        username: SERVICE.username,
        password: SERVICE.password,
        project_name: SERVICE.project_name,
        user_domain_name: 'Default',
        project_domain_name: 'Default',
      },
    });
  });
  after(async () => {
    await s?.stop();
  });

  test('the feed and the data need a token; the sign-in refuses a wrong password', async () => {
    assert.equal((await s.req('GET', '/ui/events', undefined, {})).status, 401);
    assert.equal((await s.req('GET', '/ui/')).status, 200);
    const bad = await s.req('POST', '/ui/login', { username: MEMBER.user, password: 'wrong', project: MEMBER.project }, {});
    assert.equal(bad.status, 401);
    assert.equal(bad.body.NeutronError.type, 'HTTPUnauthorized');
  });

  test('a member signs in, sees the project drawn and a new port live, and no admin view', async () => {
    const admin = caller(s, {}, { 'x-auth-token': adminToken });
    const member = caller(s, {}, { 'x-auth-token': memberToken });
    const d = await buildTopology(admin, member, 'ks');
    const page = await (await browser()).newPage({ viewport: { width: 1100, height: 700 } });
    await page.goto(`${s.url}/ui/`);
    await page.fill('input[name=username]', 'nobody-here');
    await page.fill('input[name=password]', 'wrong');
    await page.fill('input[name=project]', MEMBER.project);
    await page.click('button[type=submit]');
    await page.locator('form.signin [role=alert]').waitFor(WAIT);
    await page.fill('input[name=username]', MEMBER.user);
    await page.fill('input[name=password]', MEMBER.password);
    await page.click('button[type=submit]');
    await assertDrawn(page, d);
    assert.match((await page.locator('header .who').textContent()) ?? '', new RegExp(`${MEMBER.user} · project ${MEMBER.project}$`));
    await assertLivePort(page, member, d.b);
    assert.equal(await page.locator('#agents').count(), 0, 'a member sees no agents');
    await page.screenshot({ path: screenshotPath('ui-topology-keystone.png'), fullPage: true });
  });
});
