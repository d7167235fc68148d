// The bus semantics on a real RabbitMQ, then what only a broker can show: reconnection after
// the broker closes our connections or the network drops them, calls waiting for the
// reconnection, failover over several hosts, and no connection left behind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AmqpBus, createBus, RpcTimeoutError, silentLogger, type RpcContext } from '../../src/rpc/index.js';
import {
  brokerCloseConnections,
  brokerConnections,
  FlakyProxy,
  haveRabbitmqctl,
  RABBIT_URL,
  rabbitHarness,
  runId,
  skipUnlessRabbit,
  type RabbitHarness,
} from './rabbit.js';
import { busSemantics } from './suite.js';
import { encodeRequest } from '../../src/rpc/wire.js';
import { sleep, waitFor } from '../helpers/wait.js';

const skip = await skipUnlessRabbit();

busSemantics('RabbitMQ', () => rabbitHarness('sem'), skip);

describe('RabbitMQ transport', { skip }, () => {
  let h: RabbitHarness;
  before(async () => {
    h = await rabbitHarness('rc');
  });
  after(async () => {
    await h?.close();
  });

  it('createBus picks AMQP for rabbit:// and amqp:// URLs', async () => {
    const b = createBus(RABBIT_URL.replace(/^rabbit:/, 'amqp:'), {
      logger: silentLogger,
      connectionName: `${h.connectionPrefix}-url`,
      controlExchange: h.exchange,
    });
    assert.ok(b instanceof AmqpBus);
    await (b as AmqpBus).waitConnected(5000);
    await b.close();
  });

  it('server and client keep working after the broker closes their connections', async (t) => {
    const why = await haveRabbitmqctl();
    if (why) {
      if (process.env.CI) throw new Error(`broker-side close needs rabbitmqctl in CI: ${why}`);
      console.error(`\n!!! SKIPPING the broker-side reconnect test: ${why} !!!\n`);
      return t.skip(why);
    }
    const topic = h.topic('broker-close');
    const server = await h.busWith({ name: 'bc-server' });
    const client = await h.busWith({ name: 'bc-client' });
    const fanned: string[] = [];
    await server.serve(topic, 'host-r', {
      ping: async (ctx: RpcContext) => `pong ${ctx.requestId}`,
      note: async (_c: RpcContext, args: { tag: string }) => void fanned.push(args.tag),
    });
    assert.equal(await client.call(topic, 'ping', {}, { context: { requestId: 'req-before', projectId: null }, timeoutMs: 5000 }), 'pong req-before');

    const killed = await brokerCloseConnections(`${h.connectionPrefix}-bc-`);
    assert.equal(killed.length, 2, 'both connections found and closed by the broker');
    // Sent at once, i.e. most likely while both sides are still reconnecting: it waits.
    assert.equal(await client.call(topic, 'ping', {}, { context: { requestId: 'req-after', projectId: null }, timeoutMs: 10_000 }), 'pong req-after');
    assert.equal(
      await client.call({ topic, server: 'host-r' }, 'ping', {}, { context: { requestId: 'req-host', projectId: null }, timeoutMs: 5000 }),
      'pong req-host',
    );
    // The fanout queue outlived the old connection; the new one must consume it again.
    for (let i = 0; !fanned.includes('after') && i < 50; i++) {
      await client.fanout(topic, 'note', { tag: 'after' });
      await sleep(100);
    }
    assert.ok(fanned.includes('after'), 'fanout delivered after the reconnection');
    const now = await brokerConnections(`${h.connectionPrefix}-bc-`);
    assert.equal(now.length, 2, 'one new connection each');
    assert.ok(!now.some((pid) => killed.includes(pid)), 'the connections are new ones');
  });

  it('a network cut: queued calls are answered once the server is back; calls wait for the reconnection up to their timeout', async () => {
    const proxy = await FlakyProxy.forBroker().start();
    try {
      const topic = h.topic('cut');
      const server = await h.busWith({ url: proxy.url(), name: 'cut-server' });
      const client = await h.busWith({ name: 'cut-client' }); // direct
      const flaky = await h.busWith({ url: proxy.url(), name: 'cut-flaky-client' });
      const casts: number[] = [];
      await server.serve(topic, 'host-p', {
        ping: async () => 'pong',
        note: async (_c: RpcContext, args: { i: number }) => void casts.push(args.i),
      });
      assert.equal(await flaky.call(topic, 'ping', {}, { timeoutMs: 5000 }), 'pong');

      proxy.refuse(true);
      proxy.cut();
      await waitFor('both proxied buses to notice', () => !server.connected && !flaky.connected);

      // Routable (the topic queue outlives its consumer): waits there for the server.
      const queued = client.call(topic, 'ping', {}, { timeoutMs: 10_000 });
      // No connection at all: short calls fail with the timeout error, long ones wait.
      const t0 = Date.now();
      const err = await flaky.call(topic, 'ping', {}, { timeoutMs: 400 }).catch((e: unknown) => e);
      assert.ok(err instanceof RpcTimeoutError, String(err));
      assert.equal(err.reason, 'disconnected');
      assert.ok(Date.now() - t0 >= 380, 'waited out its timeout');
      const waiting = flaky.call(topic, 'ping', {}, { timeoutMs: 10_000 });
      const castWhileDown = flaky.cast(topic, 'note', { i: 1 }, { timeoutMs: 10_000 });
      await sleep(300);

      proxy.refuse(false);
      assert.equal(await queued, 'pong');
      assert.equal(await waiting, 'pong');
      await castWhileDown;
      await waitFor('the cast sent while disconnected', () => casts.includes(1));
      assert.ok(server.connected && flaky.connected);
      // Closed while the proxy still carries them, so they can delete their reply queues.
      await server.close();
      await flaky.close();
    } finally {
      await proxy.close();
    }
  });

  it('casts and calls with no broker at all fail with RpcTimeoutError after their timeout', async () => {
    const proxy = await FlakyProxy.forBroker().start();
    proxy.refuse(true);
    try {
      const bus = await h.busWith({ url: proxy.url(), name: 'down' });
      await assert.rejects(bus.call('q-plugin', 'report_state', {}, { timeoutMs: 300 }), {
        name: 'RpcTimeoutError',
        reason: 'disconnected',
        message: /report_state.*300 ms/,
      });
      await assert.rejects(bus.cast('q-plugin', 'report_state', {}, { timeoutMs: 300 }), { name: 'RpcTimeoutError', kind: 'cast' });
      await assert.rejects(bus.fanout('q-plugin', 'report_state', {}, { timeoutMs: 300 }), { name: 'RpcTimeoutError', kind: 'fanout' });
      await bus.close();
    } finally {
      await proxy.close();
    }
  });

  it('an agent started before the broker: serve() waits for it, then listens', async () => {
    const proxy = await FlakyProxy.forBroker().start();
    proxy.refuse(true);
    try {
      const topic = h.topic('late-broker');
      const agent = await h.busWith({ url: proxy.url(), name: 'late-agent' });
      let listening = false;
      const served = agent.serve(topic, 'host-l', { ping: async () => 'pong' }).then((s) => ((listening = true), s));
      await sleep(300);
      assert.equal(listening, false);
      proxy.refuse(false);
      await served;
      const client = await h.bus();
      assert.equal(await client.call({ topic, server: 'host-l' }, 'ping', {}, { timeoutMs: 5000 }), 'pong');
      await agent.close();
    } finally {
      await proxy.close();
    }
  });

  it('a queue the broker will not let us use fails serve() clearly; the bus carries on', async () => {
    const topic = h.topic('refused');
    // Someone declared `<topic>` durable: our non-durable declaration is a 406.
    await h.rawChannel(async (ch) => void (await ch.assertQueue(topic, { durable: true })));
    const bus = await h.bus();
    await assert.rejects(bus.serve(topic, 'host-x', { ping: async () => 'pong' }), {
      name: 'RpcError',
      message: new RegExp(`cannot serve topic '${topic}'.*PRECONDITION`),
    });
    const ok = h.topic('after-refusal');
    await bus.serve(ok, 'host-x', { ping: async () => 'pong' });
    assert.equal(await bus.call(ok, 'ping', {}, { timeoutMs: 5000 }), 'pong');
  });

  it("a message delivered twice (same oslo `_unique_id`) runs once, as oslo's listeners do", async () => {
    const topic = h.topic('dup');
    const bus = await h.bus();
    const seen: number[] = [];
    await bus.serve(topic, 'host-d', { note: async (_c: RpcContext, a: { i: number }) => void seen.push(a.i) });
    const body = (uniqueId: string, i: number) =>
      Buffer.from(
        encodeRequest({ method: 'note', args: { i }, context: { requestId: 'req-dup', projectId: null }, msgId: null, replyQueue: null, uniqueId }),
      );
    await h.rawChannel(async (ch) => {
      ch.publish(h.exchange, topic, body('u1', 1));
      ch.publish(h.exchange, topic, body('u1', 1));
      ch.publish(h.exchange, topic, body('u2', 2));
      await ch.close(); // after the publishes, in order: they have reached the broker
    });
    await waitFor('both distinct casts', () => seen.includes(2));
    await sleep(200);
    assert.deepEqual(seen, [1, 2]);
  });

  it('a call whose reply queue the broker lost (as in a restart) fails with RpcLostError, not at its timeout', async () => {
    const topic = h.topic('lost');
    const server = await h.bus();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started = false;
    await server.serve(topic, 'host-l', {
      hold: async () => {
        started = true;
        await held;
        return 'late';
      },
      ping: async () => 'pong',
    });
    const client = await h.bus();
    const call = client.call(topic, 'hold', {}, { timeoutMs: 60_000 });
    await waitFor('the call to run', () => started);
    // What a restart does to the client's non-durable reply queue (and the reply in it).
    const replyQueue = (client as unknown as { replyQueue: string }).replyQueue;
    await h.rawChannel(async (ch) => void (await ch.deleteQueue(replyQueue)));
    await assert.rejects(call, { name: 'RpcLostError' });
    release();
    assert.equal(await client.call(topic, 'ping', {}, { timeoutMs: 10_000 }), 'pong', 'the bus works again after the loss');
  });

  it('fails over to the next host of the transport_url', async () => {
    const dead = await FlakyProxy.forBroker().start();
    dead.refuse(true);
    try {
      const good = RABBIT_URL.replace(/^rabbit:\/\//, '').replace(/\/.*$/, '');
      const url = `rabbit://guest:guest@127.0.0.1:${dead.port},${good}/`;
      const topic = h.topic('failover');
      const server = await h.busWith({ url, name: 'failover' });
      await server.serve(topic, 'host-f', { ping: async () => 'pong' });
      const client = await h.bus();
      assert.equal(await client.call(topic, 'ping', {}, { timeoutMs: 5000 }), 'pong');
    } finally {
      await dead.close();
    }
  });

  it('leaves no connection open once closed', async (t) => {
    if (await haveRabbitmqctl()) return t.skip('needs rabbitmqctl');
    const b = await h.busWith({ name: 'leak-check' });
    await b.waitConnected(5000);
    assert.equal((await brokerConnections(`${h.connectionPrefix}-leak-check`)).length, 1);
    await b.close();
    let left = await brokerConnections(`${h.connectionPrefix}-leak-check`);
    for (let i = 0; left.length && i < 3; i++) left = await brokerConnections(`${h.connectionPrefix}-leak-check`);
    assert.deepEqual(left, []);
  });
});

after(async () => {
  if (skip || (await haveRabbitmqctl())) return;
  // Every bus of every harness is closed by now: nothing of this run may remain.
  assert.deepEqual(await brokerConnections(`neutrino-test-${runId}`), [], 'connections left open by the RPC tests');
});
