// The flavor exceptions, named and worded as Neutron's (neutron_lib/exceptions/flavors.py); the
// body's type is the class name, the status follows Neutron's FAULT_MAP.
import { NeutronError } from '../../core/errors.js';

export const flavorNotFound = (id: string) => new NeutronError(404, 'FlavorNotFound', `Flavor ${id} could not be found.`);
export const flavorInUse = (id: string) => new NeutronError(409, 'FlavorInUse', `Flavor ${id} is used by some service instance.`);
export const serviceProfileNotFound = (id: string) => new NeutronError(404, 'ServiceProfileNotFound', `Service Profile ${id} could not be found.`);
export const serviceProfileInUse = (id: string) =>
  new NeutronError(409, 'ServiceProfileInUse', `Service Profile ${id} is used by some service instance.`);
export const bindingExists = (spId: string, flavorId: string) =>
  new NeutronError(409, 'FlavorServiceProfileBindingExists', `Service Profile ${spId} is already associated with flavor ${flavorId}.`);
export const bindingNotFound = (spId: string, flavorId: string) =>
  new NeutronError(404, 'FlavorServiceProfileBindingNotFound', `Service Profile ${spId} is not associated with flavor ${flavorId}.`);
export const driverNotFound = (driver: string) =>
  new NeutronError(404, 'ServiceProfileDriverNotFound', `Service Profile driver ${driver} could not be found.`);
export const serviceProfileEmpty = () => new NeutronError(400, 'ServiceProfileEmpty', 'Service Profile needs either a driver or metainfo.');
export const flavorDisabled = () => new NeutronError(503, 'FlavorDisabled', 'Flavor is not enabled.');
export const serviceProfileDisabled = () => new NeutronError(503, 'ServiceProfileDisabled', 'Service Profile is not enabled.');
export const invalidServiceType = (t: string) => new NeutronError(400, 'InvalidServiceType', `Invalid service type: ${t}.`);
