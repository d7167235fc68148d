// Quota's errors, named and worded as Neutron's (neutron_lib.exceptions.OverQuota, a Conflict).
import { conflict } from '../core/errors.js';

/** The resources listed as Python prints the list of their names. */
export const overQuota = (resources: readonly string[]) =>
  conflict('OverQuota', `Quota exceeded for resources: [${resources.map((r) => `'${r}'`).join(', ')}].`);
