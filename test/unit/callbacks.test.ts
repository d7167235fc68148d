// The callbacks registry: priority order, before/precommit errors refuse the write, after-commit
// errors are logged and never reach the publisher, one payload carries metadata between phases.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallbackRegistry, Events, type EventPayload } from '../../src/core/callbacks.js';

const payload = (): EventPayload => ({ context: null, resourceId: 'p1', before: null, after: { id: 'p1' } });

describe('callbacks registry', () => {
  it('runs subscribers by priority, equal priorities in subscription order, only for their resource and event', async () => {
    const r = new CallbackRegistry();
    const ran: string[] = [];
    r.subscribe('port', Events.AFTER_CREATE, () => void ran.push('late'), { priority: 2000 });
    r.subscribe('port', Events.AFTER_CREATE, () => void ran.push('first'), { priority: 10 });
    r.subscribe('port', Events.AFTER_CREATE, () => void ran.push('default-a'));
    r.subscribe('port', Events.AFTER_CREATE, () => void ran.push('default-b'));
    r.subscribe('network', Events.AFTER_CREATE, () => void ran.push('network'));
    r.subscribe('port', Events.AFTER_UPDATE, () => void ran.push('update'));
    await r.publish('port', Events.AFTER_CREATE, payload());
    assert.deepEqual(ran, ['first', 'default-a', 'default-b', 'late']);
    assert.ok(r.has('port', Events.AFTER_UPDATE));
    assert.ok(!r.has('port', Events.AFTER_DELETE));
  });

  it('stops at the first error of a before or precommit subscriber and throws it to the publisher', async () => {
    const r = new CallbackRegistry();
    const ran: string[] = [];
    r.subscribe('port', Events.PRECOMMIT_DELETE, () => {
      throw new Error('port in use');
    });
    r.subscribe('port', Events.PRECOMMIT_DELETE, () => void ran.push('after the refusal'));
    await assert.rejects(r.publish('port', Events.PRECOMMIT_DELETE, payload()), /port in use/);
    assert.deepEqual(ran, []);
  });

  it('logs an after-commit error and still runs the other subscribers', async () => {
    const warned: object[] = [];
    const r = new CallbackRegistry({ warn: (o) => void warned.push(o) });
    const ran: string[] = [];
    r.subscribe(
      'port',
      Events.AFTER_DELETE,
      async () => {
        throw new Error('broker down');
      },
      { name: 'dhcp' },
    );
    r.subscribe('port', Events.AFTER_DELETE, () => void ran.push('l2'));
    await r.publish('port', Events.AFTER_DELETE, payload());
    assert.deepEqual(ran, ['l2']);
    assert.equal(warned.length, 1);
    assert.match(JSON.stringify(warned[0]), /"subscriber":"dhcp".*broker down/);
  });

  it('lets a subscriber note facts in one payload for a later phase', async () => {
    const r = new CallbackRegistry();
    let seen: unknown;
    r.subscribe('network', Events.BEFORE_DELETE, (p) => {
      p.metadata = { ...p.metadata, agents: ['a1'] };
    });
    r.subscribe('network', Events.AFTER_DELETE, (p) => {
      seen = p.metadata?.agents;
    });
    const p = payload();
    await r.publish('network', Events.BEFORE_DELETE, p);
    await r.publish('network', Events.AFTER_DELETE, p);
    assert.deepEqual(seen, ['a1']);
  });
});
