// Which provider serves a router (Neutron's L3 driver controller, reduced to what neutrino has):
// single_node or ha, picked by the router's flavor (l3-flavors) or by its ha flag. There is no
// distributed provider (dvr is an API attribute only): distributed=true is refused with a 400,
// and [DEFAULT] router_distributed = true stops start-up.
import { ConfigError } from '../../config/index.js';
import { NeutronError } from '../../core/errors.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { Tx } from '../../db/tx.js';
import { flavorProvider } from '../flavors/store.js';
import { flavorNotFound } from '../flavors/errors.js';

const L3_SERVICE_TYPE = 'L3_ROUTER_NAT';

const invalidInput = (message: string) => new NeutronError(400, 'InvalidInput', `Invalid input for operation: ${message}.`);

export const distributedNotSupported = () =>
  invalidInput(
    'distributed=True is not supported: neutrino has no distributed (DVR) router dataplane; create the router with distributed=False or unset',
  );

/** [DEFAULT] router_distributed: accepted only as false (what it would do, neutrino cannot). */
export function checkRouterDistributed(routerDistributed: boolean): void {
  if (routerDistributed) {
    throw new ConfigError('[DEFAULT] router_distributed = true is not supported: neutrino has no distributed (DVR) router dataplane', {
      section: 'DEFAULT',
      option: 'router_distributed',
    });
  }
}

const given = (v: unknown): v is boolean => typeof v === 'boolean';

export class RouterProviders {
  /** `serviceTypes`: the loaded plugins' types, null without l3-flavors. */
  constructor(
    private readonly db: Db,
    private readonly serviceTypes: ReadonlySet<string> | null,
  ) {}

  /** A router body's flavor, or null. */
  static flavorOf(body: Rec): string | null {
    const f = body.flavor_id;
    return typeof f === 'string' && f !== '' ? f : null;
  }

  /**
   * Before a router is created: refuses distributed=true, and for a flavor (which must be an
   * enabled L3 flavor whose first profile names a provider neutrino has) settles `ha` from its
   * provider, refusing an ha flag the provider does not match. Called before the router's
   * transaction (to settle `ha` for the HA network) and again inside it, under the flavor's lock.
   */
  async checkCreate(tx: Tx, body: Rec): Promise<void> {
    if (body.distributed === true) throw distributedNotSupported();
    const flavorId = RouterProviders.flavorOf(body);
    if (!flavorId) return;
    if (!this.serviceTypes) throw flavorNotFound(flavorId);
    const { flavor, provider } = await flavorProvider(this.db, tx, flavorId, this.serviceTypes);
    if (flavor.service_type !== L3_SERVICE_TYPE) {
      throw invalidInput(`Flavor ${flavorId} is for service type ${flavor.service_type}, not ${L3_SERVICE_TYPE}`);
    }
    const ha = provider === 'ha';
    if (given(body.ha) && body.ha !== ha) throw invalidInput(`Provider ${provider} does not support ha=${body.ha ? 'True' : 'False'}`);
    body.ha = ha;
  }

  /** Before a router is updated: no distributed=true; a flavored router's ha stays its provider's. */
  checkUpdate(row: { flavor_id: string | null; ha: unknown }, body: Rec): void {
    if (body.distributed === true) throw distributedNotSupported();
    if (row.flavor_id && given(body.ha) && body.ha !== (Number(row.ha) === 1)) {
      throw invalidInput("Changing the 'ha' and 'distributed' attributes on a router associated with a flavor is not supported");
    }
  }
}
