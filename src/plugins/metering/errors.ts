// The metering exceptions, named and worded as Neutron's (neutron_lib/exceptions/metering.py);
// the body's type is the class name, the status follows FAULT_MAP.
import { NeutronError } from '../../core/errors.js';

export const meteringLabelNotFound = (id: string) => new NeutronError(404, 'MeteringLabelNotFound', `Metering label '${id}' does not exist.`);
export const meteringLabelRuleNotFound = (id: string) =>
  new NeutronError(404, 'MeteringLabelRuleNotFound', `Metering label rule '${id}' does not exist.`);
export const meteringLabelRuleOverlaps = (prefix: string) =>
  new NeutronError(409, 'MeteringLabelRuleOverlaps', `Metering label rule with remote_ip_prefix '${prefix}' overlaps another.`);
/**
 * neutron_lib's Invalid, which Neutron's metering plugin raises for bad prefixes. Neutron lets it
 * out as a 500 (Invalid maps to no HTTP error); it is the caller's mistake, so 400 here.
 */
export const invalidRule = (message: string) => new NeutronError(400, 'Invalid', message);
/** Neutron's metering plugin has no update: NotImplementedError, which Neutron answers with 501. */
export const updateNotSupported = (resource: string) => new NeutronError(501, 'NotImplementedError', `Updating a ${resource} is not supported.`);
