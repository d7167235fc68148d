// Auto-allocation's exceptions, named and worded as Neutron's (services/auto_allocate/exceptions.py).
import { conflict, NeutronError } from '../../core/errors.js';

export const autoAllocationFailure = (reason: string) => conflict('AutoAllocationFailure', `Deployment error: ${reason}.`);
export const unrecognizedField = () => new NeutronError(400, 'BadRequest', 'Bad auto_allocate request: Unrecognized field.');
