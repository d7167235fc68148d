// /v2.0/qos/rule-types: the rule types the loaded QoS drivers support (qos-rule-type-filter's
// all_rules / all_supported widen the list), and per type which driver takes which parameter
// values (qos-rule-type-details; showing one type is for admins, as in Neutron).
import type { RequestContext } from '../../core/context.js';
import { qosRuleTypeDef, VALID_RULE_TYPES } from '../../definitions/qos.js';
import type { ResourceDef } from '../../core/definition.js';
import { actionNotAuthorized, httpNotFound } from '../../core/errors.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import type { QosDrivers } from './drivers.js';

export class QosRuleTypeHandler implements ResourceHandler {
  readonly def: ResourceDef = qosRuleTypeDef;

  constructor(private readonly drivers: QosDrivers) {}

  notFound(id: string): Error {
    return httpNotFound(`QoS rule type ${id} could not be found.`);
  }

  async get(ctx: RequestContext, type: string): Promise<Rec | null> {
    if (!ctx.isAdmin) throw actionNotAuthorized();
    if (!(VALID_RULE_TYPES as readonly string[]).includes(type)) return null;
    return { type, drivers: this.drivers.ruleTypeDetails(type) };
  }

  async list(_ctx: RequestContext, q: ListQuery): Promise<Rec[]> {
    const flag = (name: string) => (q.filters[name] ?? []).some((v) => v === true);
    return this.drivers.supportedRuleTypes({ allRules: flag('all_rules'), allSupported: flag('all_supported') }).map((type) => ({ type }));
  }

  async create(): Promise<Rec[]> {
    throw new Error('rule types are read-only');
  }

  async update(): Promise<Rec> {
    throw new Error('rule types are read-only');
  }

  async delete(): Promise<void> {
    throw new Error('rule types are read-only');
  }
}
