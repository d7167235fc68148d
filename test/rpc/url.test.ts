// transport_url parsing (oslo's format), the wire format's round trips and the RabbitMQ layout: pure, no broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { AmqpBus, OSLO_RABBIT_DEFAULTS, parseTransportUrl, rabbitLayout, redactTransportUrl, TransportUrlError } from '../../src/rpc/index.js';
import { busFromConfig, rabbitOptionsFromConfig } from '../../src/rpc/from-config.js';
import { decodeReply, decodeRequest, describeFailure, encodeHeartbeat, encodeReply, encodeRequest } from '../../src/rpc/wire.js';

describe('transport_url', () => {
  it('reads one host with credentials and a virtual host', () => {
    const u = parseTransportUrl('rabbit://neutron:s3cret@10.0.0.5:5673/openstack');
    assert.equal(u.driver, 'rabbit');
    assert.deepEqual(u.hosts, [{ hostname: '10.0.0.5', port: 5673, username: 'neutron', password: 's3cret' }]);
    assert.equal(u.virtualHost, 'openstack');
    assert.equal(u.tls, false);
  });

  it('reads several hosts; a host without credentials reuses the previous ones', () => {
    const u = parseTransportUrl('rabbit://u1:p1@h1:5672,u2:p2@h2:5673,h3/');
    assert.deepEqual(u.hosts, [
      { hostname: 'h1', port: 5672, username: 'u1', password: 'p1' },
      { hostname: 'h2', port: 5673, username: 'u2', password: 'p2' },
      { hostname: 'h3', port: 5672, username: 'u2', password: 'p2' },
    ]);
    assert.equal(u.virtualHost, '/');
  });

  it('accepts amqp://, defaults, IPv6, percent-encoding and ssl', () => {
    const a = parseTransportUrl('amqp://');
    assert.equal(a.driver, 'rabbit');
    assert.deepEqual(a.hosts, [{ hostname: 'localhost', port: 5672, username: 'guest', password: 'guest' }]);
    const b = parseTransportUrl('rabbit://us%40er:p%3Aa%2Fss%2C@[fd00::1]:5672/%2F');
    assert.deepEqual(b.hosts[0], { hostname: 'fd00::1', port: 5672, username: 'us@er', password: 'p:a/ss,' });
    assert.equal(b.virtualHost, '/');
    const c = parseTransportUrl('rabbit://u:p@h/?ssl=1&heartbeat=10');
    assert.equal(c.tls, true);
    assert.equal(c.hosts[0]!.port, 5671);
    assert.equal(c.options.heartbeat, '10');
  });

  it('knows memory:// and fake://', () => {
    assert.deepEqual(parseTransportUrl('memory://').driver, 'memory');
    assert.equal(parseTransportUrl('memory://aio').memoryName, 'aio');
    assert.equal(parseTransportUrl('fake:///').driver, 'memory');
  });

  it('rejects bad URLs with a clear error that hides the password', () => {
    assert.throws(
      () => parseTransportUrl('kafka://h:9092/'),
      (e: Error) => e instanceof TransportUrlError && /unsupported driver 'kafka'/.test(e.message),
    );
    assert.throws(
      () => parseTransportUrl('rabbit://u:topsecret@h:99999/'),
      (e: Error) => /port '99999'/.test(e.message) && !e.message.includes('topsecret'),
    );
    assert.throws(
      () => parseTransportUrl('rabbit://u:topsecret@h:abc/'),
      (e: Error) => e instanceof TransportUrlError && !e.message.includes('topsecret'),
    );
    assert.throws(() => parseTransportUrl('localhost:5672'), TransportUrlError);
  });

  it('redacts every password of a host list', () => {
    assert.equal(redactTransportUrl('rabbit://a:x1@h1:5672,b:x2@h2:5672/v'), 'rabbit://a:***@h1:5672,b:***@h2:5672/v');
  });
});

describe('wire format', () => {
  it('requests carry method, args, context and reply address in an oslo-style envelope', () => {
    const body = encodeRequest({
      method: 'report_state',
      args: { agent_state: { binary: 'neutrino-l2-agent' } },
      context: { requestId: 'req-1', projectId: 'p', isAdmin: true },
      msgId: 'm1',
      replyQueue: 'reply_x',
    });
    const outer = JSON.parse(body);
    assert.equal(outer['oslo.version'], '2.0');
    const inner = JSON.parse(outer['oslo.message']);
    assert.equal(inner._context_request_id, 'req-1');
    assert.equal(inner._reply_q, 'reply_x');
    const back = decodeRequest(Buffer.from(body));
    assert.deepEqual(back.context, { requestId: 'req-1', projectId: 'p', isAdmin: true });
    assert.equal(back.msgId, 'm1');
    assert.deepEqual(back.args, { agent_state: { binary: 'neutrino-l2-agent' } });
    assert.throws(() => decodeRequest('{"oslo.version":"2.0","oslo.message":"{\\"args\\":{}}"}'), /no method/);
  });

  it('replies carry a result or a failure with the remote class', () => {
    assert.deepEqual(decodeReply(encodeReply({ msgId: 'm', result: [1], failure: null })), { msgId: 'm', result: [1], failure: null, ending: true });
    class SubnetInUse extends Error {}
    const f = describeFailure(new SubnetInUse('busy'));
    assert.deepEqual(f, { type: 'SubnetInUse', message: 'busy' });
    assert.deepEqual(decodeReply(encodeReply({ msgId: 'm', failure: f })).failure, f);
  });

  it("calls carry oslo's `_timeout`; heartbeats are replies that do not end the call", () => {
    const inner = (body: string) => JSON.parse(JSON.parse(body)['oslo.message']);
    const call = inner(encodeRequest({ method: 'm', args: {}, context: { requestId: 'r', projectId: null }, msgId: 'm1', replyQueue: 'reply_x' }));
    assert.ok('_timeout' in call && call._timeout === null, 'a call says it wants no heartbeat');
    assert.match(call._unique_id, /^[0-9a-f]{32}$/);
    const cast = inner(encodeRequest({ method: 'm', args: {}, context: { requestId: 'r', projectId: null }, msgId: null, replyQueue: null }));
    assert.ok(!('_timeout' in cast) && !('_msg_id' in cast) && !('_reply_q' in cast), 'a cast carries no reply address');
    // What oslo's RPCClient(call_monitor_timeout=5) sends, and the heartbeat its server answers with.
    const monitored =
      '{"oslo.version": "2.0", "oslo.message": "{\\"method\\": \\"m\\", \\"args\\": {}, \\"_msg_id\\": \\"a\\", \\"_reply_q\\": \\"reply_b\\", \\"_timeout\\": 5}"}';
    assert.equal(decodeRequest(monitored).monitorTimeout, 5);
    const hb = decodeReply(encodeHeartbeat('a'));
    assert.deepEqual(hb, { msgId: 'a', result: undefined, failure: null, ending: false });
    // A reply from a sender that predates `ending` is the answer.
    assert.equal(decodeReply('{"oslo.version": "2.0", "oslo.message": "{\\"_msg_id\\": \\"a\\", \\"result\\": 1}"}').ending, true);
  });
});

describe('RabbitMQ layout', () => {
  it("declares what oslo.messaging's rabbit driver declares, under its defaults", () => {
    const l = rabbitLayout();
    assert.deepEqual(l.controlExchange, { durable: false, autoDelete: false });
    assert.deepEqual(l.topicQueue, { durable: false, autoDelete: false, exclusive: false, arguments: {} });
    assert.deepEqual(l.fanoutExchange, { durable: false, autoDelete: true });
    const transient = { durable: false, autoDelete: false, exclusive: false, arguments: { 'x-expires': 1_800_000 } };
    assert.deepEqual(l.fanoutQueue, transient);
    assert.deepEqual(l.replyQueue, transient);
  });

  it('follows amqp_durable_queues, amqp_auto_delete, the TTL, HA and quorum settings', () => {
    const d = rabbitLayout({ durableQueues: true, autoDelete: true, transientQueuesTtl: 60, haQueues: true });
    assert.deepEqual(d.controlExchange, { durable: true, autoDelete: true });
    assert.deepEqual(d.topicQueue, { durable: true, autoDelete: true, exclusive: false, arguments: { 'x-ha-policy': 'all' } });
    assert.deepEqual(d.fanoutExchange, { durable: false, autoDelete: true }, 'fanout exchanges never follow them');
    assert.deepEqual(d.replyQueue.arguments, { 'x-ha-policy': 'all', 'x-expires': 60_000 });
    const q = rabbitLayout({ quorumQueue: true, quorumDeliveryLimit: 3, quorumMaxMemoryBytes: 1024 });
    assert.equal(q.controlExchange.durable, true, 'quorum implies durable');
    assert.deepEqual(q.topicQueue.arguments, { 'x-queue-type': 'quorum', 'x-delivery-limit': 3, 'x-max-in-memory-bytes': 1024 });
    assert.deepEqual(q.fanoutQueue.arguments, { 'x-expires': 1_800_000 }, 'transient queues are never quorum');
    assert.throws(() => rabbitLayout({ quorumQueue: true, haQueues: true }), /cannot both/);
    assert.throws(() => rabbitLayout({ transientQueuesTtl: 0 }), /positive/);
  });
});

describe('RabbitMQ options from the configuration', () => {
  it("reads oslo.messaging's option names, under its defaults", () => {
    assert.deepEqual(rabbitOptionsFromConfig(loadConfig([])), OSLO_RABBIT_DEFAULTS);
    const cfg = loadConfig([], {
      oslo_messaging_rabbit: { amqp_durable_queues: 'true', amqp_auto_delete: 'yes', rabbit_transient_queues_ttl: '60', rabbit_quorum_queue: 'true' },
    });
    assert.deepEqual(rabbitOptionsFromConfig(cfg), {
      ...OSLO_RABBIT_DEFAULTS,
      durableQueues: true,
      autoDelete: true,
      transientQueuesTtl: 60,
      quorumQueue: true,
    });
    assert.equal(loadConfig([]).DEFAULT.control_exchange, 'neutron');
    assert.equal(loadConfig([]).DEFAULT.rpc_response_timeout, 60);
  });

  it('refuses what oslo refuses, naming the section', () => {
    const cfg = loadConfig([], { oslo_messaging_rabbit: { rabbit_quorum_queue: 'true', rabbit_ha_queues: 'true' } });
    assert.throws(
      () => busFromConfig(cfg, undefined),
      (e: Error) => e instanceof ConfigError && /\[oslo_messaging_rabbit\].*cannot both/.test(e.message),
    );
    assert.throws(() => loadConfig([], { oslo_messaging_rabbit: { rabbit_transient_queues_ttl: '0' } }), ConfigError);
  });

  it('a rabbit:// transport_url gives an AMQP bus (not connected here)', async () => {
    const b = busFromConfig(loadConfig([], { DEFAULT: { transport_url: 'rabbit://guest:guest@127.0.0.1:1/' } }), undefined);
    assert.ok(b instanceof AmqpBus);
    await b.close();
  });
});
