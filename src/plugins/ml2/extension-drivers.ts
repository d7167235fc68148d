// ML2 extension drivers (Neutron's ml2 ExtensionDriver): features that add attributes to networks
// and ports (availability zones, DNS integration, ...) without the network and port handlers
// knowing them. The handlers call these hooks inside their write transaction, so an extension's
// rows are written (or refused) together with the resource's, and when building API dicts.
import type { Rec } from '../../api/resource-handler.js';
import type { Reader, Tx } from '../../db/tx.js';

export interface Ml2ExtensionDriver {
  /** Before the network row is inserted: may refuse, or settle the body's values (defaults). */
  prepareCreateNetwork?(tx: Tx, body: Rec): Promise<void>;
  /** After the network row is inserted. */
  processCreateNetwork?(tx: Tx, body: Rec, networkId: string): Promise<void>;
  /** With the attributes the update gives. */
  processUpdateNetwork?(tx: Tx, body: Rec, networkId: string): Promise<void>;
  /** Adds the extension's attributes to network dicts. */
  extendNetworkDicts?(db: Reader, dicts: Rec[]): Promise<void>;
  /** After the port row is inserted (and its fixed IPs allocated). */
  processCreatePort?(tx: Tx, body: Rec, portId: string): Promise<void>;
  /** With the attributes the update gives. */
  processUpdatePort?(tx: Tx, body: Rec, portId: string): Promise<void>;
  /** Adds the extension's attributes to port dicts; `fields` as PortHandler.toDicts takes them. */
  extendPortDicts?(db: Reader, dicts: Rec[], fields: string[]): Promise<void>;
}

/** Runs one hook of every driver that has it, in order. */
export async function runHooks<K extends keyof Ml2ExtensionDriver>(
  drivers: readonly Ml2ExtensionDriver[] | undefined, hook: K, ...args: Parameters<NonNullable<Ml2ExtensionDriver[K]>>
): Promise<void> {
  if (!drivers) return;
  for (const d of drivers) {
    const f = d[hook] as ((...a: unknown[]) => Promise<void>) | undefined;
    if (f) await f.apply(d, args);
  }
}
