// The bus semantics on the in-memory transport (all-in-one), plus what is memory-specific.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBus, MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { busSemantics } from './suite.js';

busSemantics('memory', async () => {
  const broker = new MemoryBroker();
  const buses: RpcBus[] = [];
  let n = 0;
  return {
    async bus() {
      const b = new MemoryBus({ broker, logger: silentLogger });
      buses.push(b);
      return b;
    },
    topic: (name) => `${name}-${++n}`,
    async close() {
      for (const b of buses) await b.close();
    },
  };
});

describe('memory transport', () => {
  it('buses from the same memory:// URL share a broker; named ones are separate', async () => {
    const server = createBus('memory://rpc-test', { logger: silentLogger });
    const client = createBus('memory://rpc-test', { logger: silentLogger });
    const stranger = createBus('memory://elsewhere', { logger: silentLogger });
    assert.equal(server.transport, 'memory');
    const srv = await server.serve('q-plugin', 'host-1', { ping: async () => 'pong' });
    assert.equal(await client.call('q-plugin', 'ping'), 'pong');
    await assert.rejects(stranger.call('q-plugin', 'ping', {}, { timeoutMs: 1000 }), { name: 'RpcTimeoutError', reason: 'unroutable' });
    await srv.stop();
    for (const b of [server, client, stranger]) await b.close();
  });

  it('null, empty and memory:// all give the in-memory bus', async () => {
    for (const url of [null, undefined, '', '  ', 'memory://', 'fake://']) {
      const b = createBus(url, { logger: silentLogger });
      assert.ok(b instanceof MemoryBus, String(url));
      await b.close();
    }
  });

  it("handlers never run inside the caller's stack", async () => {
    const bus = new MemoryBus({ broker: new MemoryBroker(), logger: silentLogger });
    let ran = false;
    await bus.serve('t', 'h', { note: async () => void (ran = true) });
    await bus.cast('t', 'note');
    assert.equal(ran, false);
    await new Promise((r) => setImmediate(r));
    assert.equal(ran, true);
    await bus.close();
  });

  it('arguments that JSON cannot carry fail at the caller, as they would on RabbitMQ', async () => {
    const bus = new MemoryBus({ broker: new MemoryBroker(), logger: silentLogger });
    await bus.serve('t', 'h', { big: async () => 10n });
    await assert.rejects(bus.call('t', 'big', { n: 1n }), TypeError);
    await assert.rejects(bus.call('t', 'big'), { remoteType: 'SerializationError' });
    await bus.close();
  });
});
