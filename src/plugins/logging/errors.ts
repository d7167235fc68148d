// The logging exceptions, named and worded as Neutron's (neutron/services/logapi/common/exceptions.py).
import { NeutronError } from '../../core/errors.js';

export const logNotFound = (id: string) => new NeutronError(404, 'LogResourceNotFound', `Log resource ${id} could not be found.`);
export const invalidLogResourceType = (type: unknown) =>
  new NeutronError(400, 'InvalidLogResourceType', `Invalid log resource_type: ${String(type)}.`);
export const resourceNotFound = (id: string) => new NeutronError(404, 'ResourceNotFound', `Resource ${id} could not be found.`);
export const targetResourceNotFound = (id: string) => new NeutronError(404, 'TargetResourceNotFound', `Target resource ${id} could not be found.`);
export const loggingTypeNotSupported = (type: string, portId: string) =>
  new NeutronError(409, 'LoggingTypeNotSupported', `Logging type ${type} is not supported on port ${portId}.`);
export const invalidResourceConstraint = (sgId: string, portId: string) =>
  new NeutronError(
    400,
    'InvalidResourceConstraint',
    `Invalid resource constraint between resource (security_group ${sgId}) and target resource (port ${portId}).`,
  );
