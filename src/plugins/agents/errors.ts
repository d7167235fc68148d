// The agent API's exceptions, named and worded as Neutron's (neutron_lib/exceptions/agent.py and
// availability_zone.py; AgentNotFound, which the schedulers share, is in common/errors.ts); the body's
// type is the class name, the status follows FAULT_MAP.
import { NeutronError, notFound } from '../../core/errors.js';

export const availabilityZoneNotFound = (zone: string) => notFound('AvailabilityZoneNotFound', `AvailabilityZone ${zone} could not be found.`);
/** BadRequest(resource='agent'): agents register themselves through their state reports. */
export const badAgentRequest = (msg: string) => new NeutronError(400, 'BadRequest', `Bad agent request: ${msg}`);
