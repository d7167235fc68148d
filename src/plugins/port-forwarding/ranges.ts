// Port forwardings' ports as Neutron's plugin reads them (pure): a single port or a range 'A:B'
// on each side, stored as start/end; N external ports map to N internal ones or to one.
import type { Rec } from '../../core/resource.js';
import type { PortForwardingTable } from '../../db/schema.js';
import { badRequest } from './errors.js';

export type Range = readonly [number, number];

const fail = (msg: string) => badRequest('port_forwarding', msg);

/** The range a body gives for one side (`external` or `internal`), or undefined when it gives none. */
export function givenRange(body: Rec, side: 'external' | 'internal'): Range | undefined {
  const single = body[`${side}_port`];
  const range = body[`${side}_port_range`];
  const hasSingle = single !== undefined && single !== null;
  const hasRange = range !== undefined && range !== null;
  if (hasSingle && hasRange) throw fail(`You must specify either ${side}_port or ${side}_port_range, not both`);
  if (hasRange) {
    const [a, b = a] = String(range).split(':').map(Number);
    return [a!, b!];
  }
  return hasSingle ? [Number(single), Number(single)] : undefined;
}

/** _validate_ranges: the internal side is one port or as long as the external side. */
export function checkRelation(ext: Range, int: Range): void {
  const di = int[1] - int[0];
  if (di > 0 && di !== ext[1] - ext[0]) {
    throw fail('Invalid ranges of internal and/or external ports. The relation between internal and external ports must be N-N or 1-N');
  }
}

export const collides = (a: Range, b: Range) => Math.max(a[0], b[0]) <= Math.min(a[1], b[1]);
export const rangeText = (r: Range) => `${r[0]}:${r[1]}`;

/** The collision error Neutron gives (_check_collision). */
export const collision = (key: 'external_port_range' | 'internal_port_range', existing: Range, wanted: Range) =>
  fail(`There is a port collision with the ${key}. The following ranges collides: ${rangeText(existing)} and ${rangeText(wanted)}`);

/** The API view of a row (PortForwarding.modify_fields_from_db): singles only where start = end. */
export function forwardingDict(r: PortForwardingTable): Rec {
  return {
    id: r.id,
    floatingip_id: r.floatingip_id,
    protocol: r.protocol,
    internal_port_id: r.internal_neutron_port_id,
    internal_ip_address: r.internal_ip_address,
    internal_port: r.internal_port_start === r.internal_port_end ? r.internal_port_start : null,
    external_port: r.external_port_start === r.external_port_end ? r.external_port_start : null,
    internal_port_range: rangeText([r.internal_port_start, r.internal_port_end]),
    external_port_range: rangeText([r.external_port_start, r.external_port_end]),
    description: r.description,
  };
}
