// The RPC bus's semantics as one suite, run against every transport (memory.test.ts,
// amqp.test.ts) so the all-in-one and RabbitMQ cannot drift apart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RpcRemoteError, RpcTimeoutError, type RpcBus, type RpcContext } from '../../src/rpc/index.js';
import { sleep, waitFor } from '../helpers/wait.js';

export interface BusHarness {
  /** A new bus on the harness's broker (each one its own connection on RabbitMQ). */
  bus(): Promise<RpcBus>;
  /** A topic name unique to this run, so parallel runs on one broker never meet. */
  topic(name: string): string;
  /** Closes every bus it made and removes whatever the run left on the broker. */
  close(): Promise<void>;
}

class PortNotFound extends Error {}

export function busSemantics(label: string, makeHarness: () => Promise<BusHarness>, skip: false | string = false): void {
  describe(`RPC bus semantics on ${label}`, { skip }, () => {
    let h: BusHarness;
    let server: RpcBus;
    let client: RpcBus;
    before(async () => {
      h = await makeHarness();
      server = await h.bus();
      client = await h.bus();
    });
    after(async () => {
      await h?.close();
    });

    it('call returns the reply and carries the request context', async () => {
      const topic = h.topic('echo');
      const srv = await server.serve(topic, 'host-a', { echo: async (ctx: RpcContext, args: unknown) => ({ ctx, args }) });
      const context: RpcContext = { requestId: 'req-1234', projectId: 'p-1', userId: 'u-1', isAdmin: false, roles: ['member'] };
      const args = { n: 1, s: 'x', list: [1, { b: null }], when: new Date(0) };
      const out = await client.call<{ ctx: RpcContext; args: unknown }>(topic, 'echo', args, { context, timeoutMs: 5000 });
      assert.deepEqual(out.ctx, context);
      // Bodies are JSON on every transport: a Date arrives as its ISO string.
      assert.deepEqual(out.args, { n: 1, s: 'x', list: [1, { b: null }], when: '1970-01-01T00:00:00.000Z' });
      const dflt = await client.call<{ ctx: RpcContext }>({ topic }, 'echo', {}, { timeoutMs: 5000 });
      assert.match(dflt.ctx.requestId, /^req-[0-9a-f-]{36}$/);
      assert.equal(dflt.ctx.projectId, null);
      await srv.stop();
    });

    it('remote errors come back with the remote type and message', async () => {
      const topic = h.topic('errors');
      const srv = await server.serve(topic, 'host-a', {
        missing: async () => {
          throw new PortNotFound('Port p-9 could not be found.');
        },
        named: async () => {
          throw Object.assign(new Error('Network n-1 is in use.'), { name: 'NetworkInUse' });
        },
      });
      const err = await client.call(topic, 'missing', {}, { timeoutMs: 5000 }).catch((e: unknown) => e);
      assert.ok(err instanceof RpcRemoteError, String(err));
      assert.equal(err.remoteType, 'PortNotFound');
      assert.equal(err.remoteMessage, 'Port p-9 could not be found.');
      assert.match(err.message, /PortNotFound: Port p-9 could not be found/);
      await assert.rejects(client.call(topic, 'named', {}, { timeoutMs: 5000 }), { name: 'RpcRemoteError', remoteType: 'NetworkInUse' });
      await assert.rejects(client.call(topic, 'no_such', {}, { timeoutMs: 5000 }), { remoteType: 'NoSuchMethod', remoteMessage: /no_such/ });
      // Inherited properties are not methods.
      await assert.rejects(client.call(topic, 'constructor', {}, { timeoutMs: 5000 }), { remoteType: 'NoSuchMethod' });
      await srv.stop();
    });

    it('calls take turns among the consumers of a topic and match their own replies', async () => {
      const topic = h.topic('rr');
      const other = await h.bus();
      const a = await server.serve(topic, 'host-a', { who: async (_c: RpcContext, args: { i: number }) => ({ host: 'host-a', i: args.i }) });
      const b = await other.serve(topic, 'host-b', { who: async (_c: RpcContext, args: { i: number }) => ({ host: 'host-b', i: args.i }) });
      const seen = { 'host-a': 0, 'host-b': 0 } as Record<string, number>;
      for (let i = 0; i < 6; i++) seen[(await client.call<{ host: string }>(topic, 'who', { i }, { timeoutMs: 5000 })).host]!++;
      assert.ok(seen['host-a']! > 0 && seen['host-b']! > 0, `both consumers answered: ${JSON.stringify(seen)}`);
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => client.call<{ i: number }>(topic, 'who', { i }, { timeoutMs: 5000 })));
      assert.deepEqual(
        many.map((r) => r.i),
        Array.from({ length: 20 }, (_, i) => i),
      );
      await a.stop();
      await b.stop();
    });

    it('a target with a server reaches only that host (topic.<host>)', async () => {
      const topic = h.topic('host');
      const a = await server.serve(topic, 'host-a', { who: async () => 'host-a' });
      const b = await server.serve(topic, 'host-b', { who: async () => 'host-b' });
      for (let i = 0; i < 5; i++) assert.equal(await client.call({ topic, server: 'host-b' }, 'who', {}, { timeoutMs: 5000 }), 'host-b');
      const got: string[] = [];
      const c = await server.serve(topic, 'host-c', { note: async (_c: RpcContext, args: { i: number }) => void got.push(`c${args.i}`) });
      await client.cast({ topic, server: 'host-c' }, 'note', { i: 1 });
      await waitFor('the host-specific cast', () => got.length === 1);
      assert.deepEqual(got, ['c1']);
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    });

    it('cast is delivered to exactly one consumer of the topic', async () => {
      const topic = h.topic('cast');
      const other = await h.bus();
      const got: Array<[string, number, string]> = [];
      const handler = (host: string) => ({ note: async (ctx: RpcContext, args: { i: number }) => void got.push([host, args.i, ctx.requestId]) });
      const a = await server.serve(topic, 'host-a', handler('host-a'));
      const b = await other.serve(topic, 'host-b', handler('host-b'));
      for (let i = 0; i < 10; i++) await client.cast(topic, 'note', { i }, { context: { requestId: `req-cast-${i}`, projectId: null } });
      await waitFor('10 casts', () => got.length >= 10);
      await sleep(100); // a duplicate would show up now
      assert.equal(got.length, 10);
      assert.deepEqual(
        got.map((g) => g[1]).sort((x, y) => x - y),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
      assert.ok(
        got.every(([, i, rid]) => rid === `req-cast-${i}`),
        'context travels with casts',
      );
      assert.ok(got.some((g) => g[0] === 'host-a') && got.some((g) => g[0] === 'host-b'), 'casts are spread over consumers');
      await a.stop();
      await b.stop();
    });

    it('fanout reaches every consumer of the topic once, and no other topic', async () => {
      const topic = h.topic('fan');
      const other = await h.bus();
      const got: string[] = [];
      const handler = (name: string) => ({ port_update: async (_c: RpcContext, args: { port: string }) => void got.push(`${name}:${args.port}`) });
      const servers = [
        await server.serve(topic, 'host-a', handler('a')),
        await server.serve(topic, 'host-b', handler('b')),
        await other.serve(topic, 'host-b', handler('b2')), // same host on another bus: still its own copy
        await other.serve(h.topic('fan-other'), 'host-a', handler('elsewhere')),
      ];
      await client.fanout(topic, 'port_update', { port: 'p1' });
      await waitFor('3 fanout deliveries', () => got.length >= 3);
      await sleep(100);
      assert.deepEqual(got.sort(), ['a:p1', 'b2:p1', 'b:p1']);
      for (const s of servers) await s.stop();
      // Nobody listening: a fanout is simply dropped, as is a cast.
      await client.fanout(topic, 'port_update', { port: 'p2' });
      await client.cast(h.topic('nobody'), 'port_update', { port: 'p3' });
    });

    it('a call nobody serves fails fast with RpcTimeoutError naming topic, method and timeout', async () => {
      const topic = h.topic('nobody');
      const t0 = Date.now();
      const err = await client.call(topic, 'get_devices_details_list', {}, { timeoutMs: 3000 }).catch((e: unknown) => e);
      assert.ok(err instanceof RpcTimeoutError, String(err));
      assert.equal(err.topic, topic);
      assert.equal(err.method, 'get_devices_details_list');
      assert.equal(err.timeoutMs, 3000);
      assert.equal(err.reason, 'unroutable');
      assert.ok(err.message.includes(topic) && err.message.includes('get_devices_details_list') && err.message.includes('3000 ms'), err.message);
      assert.ok(Date.now() - t0 < 2000, 'unroutable calls do not wait out their timeout');
      await assert.rejects(client.call({ topic, server: 'host-z' }, 'x', {}, { timeoutMs: 3000 }), {
        name: 'RpcTimeoutError',
        server: 'host-z',
        message: /host-z/,
      });
    });

    it('a call whose reply does not come in time fails with RpcTimeoutError', async () => {
      const topic = h.topic('slow');
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const srv = await server.serve(topic, 'host-a', { slow: async () => held.then(() => 'late') });
      const t0 = Date.now();
      const err = await client.call(topic, 'slow', {}, { timeoutMs: 300 }).catch((e: unknown) => e);
      const took = Date.now() - t0;
      assert.ok(err instanceof RpcTimeoutError, String(err));
      assert.equal(err.reason, 'no-reply');
      assert.ok(took >= 280 && took < 2000, `timed out after ${took} ms`);
      release();
      await sleep(50); // the late reply is ignored, not mistaken for another call's
      assert.equal(await client.call(topic, 'slow', {}, { timeoutMs: 5000 }), 'late');
      await srv.stop();
    });

    it('a stopped server gets nothing more; the others carry on', async () => {
      const topic = h.topic('stop');
      const a = await server.serve(topic, 'host-a', { who: async () => 'host-a' });
      const b = await server.serve(topic, 'host-b', { who: async () => 'host-b' });
      await b.stop();
      for (let i = 0; i < 4; i++) assert.equal(await client.call(topic, 'who', {}, { timeoutMs: 5000 }), 'host-a');
      // Memory knows nobody serves host-b (unroutable); RabbitMQ keeps the queue (no reply).
      await assert.rejects(client.call({ topic, server: 'host-b' }, 'who', {}, { timeoutMs: 300 }), RpcTimeoutError);
      await a.stop();
    });

    it('a closed bus fails its pending calls and refuses new ones', async () => {
      const topic = h.topic('closing');
      const srv = await server.serve(topic, 'host-a', { hang: () => new Promise(() => {}) });
      const lone = await h.bus();
      // Caught now: the rejection happens while close() is still running.
      const pending = lone.call(topic, 'hang', {}, { timeoutMs: 5000 }).catch((e: unknown) => e);
      await sleep(50);
      await lone.close();
      assert.equal(((await pending) as Error).name, 'RpcClosedError');
      await assert.rejects(lone.call(topic, 'hang'), { name: 'RpcClosedError' });
      await srv.stop();
    });
  });
}
