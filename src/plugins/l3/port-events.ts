// The ports L3 writes (router gateways and interfaces, floating IP ports) inside its own
// transactions, published as `port` after_* events once the transaction has committed, as
// Neutron's core plugin publishes them: DHCP agents (port_create_end, ...) and L2 agents
// (port_update / port_delete fanouts, l2population) subscribe. An API port write is published by
// the port handler; these writes bypass it, so L3 keeps its own record per transaction.
import { adminContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { inTransaction, type Tx } from '../../db/tx.js';
import type { L3Context } from './common.js';
import { Events } from '../../core/callbacks.js';

interface Changes {
  /** Port id -> its dict as created (kept current by the creator, e.g. a status set after). */
  created: Map<string, Rec>;
  /** Created ports changed again in the transaction: read back after commit. */
  stale: Set<string>;
  updated: Map<string, { before: Rec; asInterface: boolean }>;
  deleted: Map<string, Rec>;
}

const SYSTEM = adminContext('req-l3-ports');

/**
 * A port as it is before a change or a delete: its row and fixed IPs, which is what listeners
 * read of a port's past (the other lists are not loaded).
 */
async function pastView(l3: L3Context, tx: Tx, id: string): Promise<Rec | null> {
  const row = await tx.selectFrom('ports').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? (await l3.ports.toDicts(tx, [row], ['fixed_ips']))[0]! : null;
}
/** The changes of each running L3 transaction (absent when nobody listens). */
const CHANGES = new WeakMap<Tx, Changes>();

/**
 * An L3 write transaction; after it commits, listeners hear about the ports it created, changed
 * and deleted. A retried transaction starts a fresh record.
 */
export async function l3Transaction<T>(l3: L3Context, fn: (tx: Tx) => Promise<T>): Promise<T> {
  let changes: Changes | undefined;
  const out = await inTransaction(l3.m.db, (tx) => {
    changes = undefined;
    if (PORT_EVENTS.some((e) => l3.m.callbacks.has('port', e))) {
      changes = { created: new Map(), stale: new Set(), updated: new Map(), deleted: new Map() };
      CHANGES.set(tx, changes);
    }
    return fn(tx);
  });
  if (changes) await announce(l3, changes);
  return out;
}

/**
 * Creates a service port in the transaction (PortHandler.createInTx); its dict, which listeners
 * get, is the one returned: a caller that changes the port further updates it too.
 */
export async function createServicePort(l3: L3Context, tx: Tx, body: Rec): Promise<Rec> {
  const port = await l3.ports.createInTx(tx, body);
  CHANGES.get(tx)?.created.set(port.id as string, port);
  return port;
}

/** Deletes a port in the transaction (PortHandler.deleteInTx), its last view kept for listeners. */
export async function deleteServicePort(l3: L3Context, tx: Tx, id: string): Promise<void> {
  const c = CHANGES.get(tx);
  if (c) {
    // A port changed earlier in this transaction is announced as it was before that change.
    const earlier = c.updated.get(id)?.before;
    c.updated.delete(id);
    if (c.created.has(id)) c.created.delete(id);
    else if (!c.deleted.has(id)) {
      const before = earlier ?? (await pastView(l3, tx, id));
      if (before) c.deleted.set(id, before);
    }
  }
  await l3.ports.deleteInTx(tx, id);
}

/** To be called before L3 changes a port in the transaction: keeps its view from before. */
export async function noteServicePortUpdate(l3: L3Context, tx: Tx, id: string, asInterface = false): Promise<void> {
  const c = CHANGES.get(tx);
  if (!c) return;
  if (c.created.has(id)) {
    c.stale.add(id);
    return;
  }
  const seen = c.updated.get(id);
  if (seen) {
    seen.asInterface ||= asInterface;
    return;
  }
  const before = await pastView(l3, tx, id);
  if (before) c.updated.set(id, { before, asInterface });
}

const PORT_EVENTS = [Events.AFTER_CREATE, Events.AFTER_UPDATE, Events.AFTER_DELETE];

/**
 * The port events of a committed L3 transaction, without a caller (the server's own ports). A
 * port that became (or grew as) a router interface says so in `metadata.asInterface`, which
 * Neutron announces to DHCP agents as a port creation.
 */
async function announce(l3: L3Context, c: Changes): Promise<void> {
  const publish = (event: string, id: string, before: Rec | null, after: Rec | null, metadata?: Rec) =>
    l3.m.callbacks.publish('port', event, { context: null, resourceId: id, before, after, metadata });
  for (const [id, before] of c.deleted) await publish(Events.AFTER_DELETE, id, before, null);
  for (const [id, made] of c.created) {
    const port = c.stale.has(id) ? await l3.ports.get(SYSTEM, id) : made;
    if (port) await publish(Events.AFTER_CREATE, id, null, port);
  }
  for (const [id, { before, asInterface }] of c.updated) {
    const after = await l3.ports.get(SYSTEM, id);
    if (after) await publish(Events.AFTER_UPDATE, id, before, after, { asInterface });
  }
}
