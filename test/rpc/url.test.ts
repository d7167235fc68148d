// transport_url parsing (oslo's format) and the wire format's round trips: pure, no broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTransportUrl, redactTransportUrl, TransportUrlError } from '../../src/rpc/index.js';
import { decodeReply, decodeRequest, describeFailure, encodeReply, encodeRequest } from '../../src/rpc/wire.js';

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
    assert.deepEqual(decodeReply(encodeReply({ msgId: 'm', result: [1], failure: null })), { msgId: 'm', result: [1], failure: null });
    class SubnetInUse extends Error {}
    const f = describeFailure(new SubnetInUse('busy'));
    assert.deepEqual(f, { type: 'SubnetInUse', message: 'busy' });
    assert.deepEqual(decodeReply(encodeReply({ msgId: 'm', failure: f })).failure, f);
  });
});
