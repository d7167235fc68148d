// The QoS backend driver: Neutron's Linux-bridge QoS driver, the one that goes with our
// Linux-bridge mechanism driver. It takes bandwidth_limit (both directions) and dscp_marking
// rules on ports with vif_type bridge/tap, or on not-yet-bound ports of vnic_type normal;
// minimum_bandwidth (placement-backed in Neutron) it does not support. Pure functions: what the
// rule-types API reports and what the plugin accepts on ports and networks.
import {
  DIRECTIONS,
  KBPS_MAX,
  RULE_TYPE_BANDWIDTH_LIMIT,
  RULE_TYPE_DSCP_MARKING,
  VALID_DSCP_MARKS,
  VALID_RULE_TYPES,
} from '../../definitions/qos.js';
import { VIF_TYPE_BINDING_FAILED, VIF_TYPE_BRIDGE, VIF_TYPE_UNBOUND } from '../../core/wire.js';

type ParameterSpec = { range: [number, number] } | { choices: readonly (string | number)[] };

export interface QosDriver {
  name: string;
  vifTypes: readonly string[];
  vnicTypes: readonly string[];
  /** rule type -> parameter -> the values the driver takes. */
  rules: Readonly<Record<string, Readonly<Record<string, ParameterSpec>>>>;
}

export const LINUXBRIDGE_QOS_DRIVER: QosDriver = {
  name: 'linuxbridge',
  vifTypes: [VIF_TYPE_BRIDGE, 'tap'],
  vnicTypes: ['normal'],
  rules: {
    [RULE_TYPE_BANDWIDTH_LIMIT]: {
      max_kbps: { range: [0, KBPS_MAX] },
      max_burst_kbps: { range: [0, KBPS_MAX] },
      direction: { choices: DIRECTIONS },
    },
    [RULE_TYPE_DSCP_MARKING]: {
      dscp_mark: { choices: VALID_DSCP_MARKS },
    },
  },
};

/** Ports in these states are judged by their vnic_type (Neutron's SKIPPED_VIF_TYPES). */
const SKIPPED_VIF_TYPES = new Set([VIF_TYPE_UNBOUND, VIF_TYPE_BINDING_FAILED]);

export interface RuleLike {
  type: string;
  [param: string]: unknown;
}

function paramOk(spec: ParameterSpec, v: unknown): boolean {
  if ('range' in spec) return typeof v === 'number' && v >= spec.range[0] && v <= spec.range[1];
  return spec.choices.includes(v as never);
}

/** is_rule_supported: the driver knows the rule type and takes its parameter values. */
export function driverSupportsRule(d: QosDriver, rule: RuleLike): boolean {
  const params = d.rules[rule.type];
  if (!params) return false;
  return Object.entries(params).every(([name, spec]) => paramOk(spec, rule[name]));
}

export class QosDrivers {
  constructor(readonly drivers: readonly QosDriver[] = [LINUXBRIDGE_QOS_DRIVER]) {}

  /**
   * supported_rule_types: `all_rules` every type Neutron knows; `all_supported` those some driver
   * takes; otherwise those every driver takes.
   */
  supportedRuleTypes(opts: { allRules?: boolean; allSupported?: boolean } = {}): string[] {
    if (opts.allRules) return [...VALID_RULE_TYPES];
    if (this.drivers.length === 0) return [];
    if (opts.allSupported) return VALID_RULE_TYPES.filter((t) => this.drivers.some((d) => t in d.rules));
    return VALID_RULE_TYPES.filter((t) => this.drivers.every((d) => t in d.rules));
  }

  /** supported_rule_type_details: per driver, the parameters it takes for the type. */
  ruleTypeDetails(type: string): Array<{ name: string; supported_parameters: unknown[] }> {
    return this.drivers
      .filter((d) => type in d.rules)
      .map((d) => ({
        name: d.name,
        supported_parameters: Object.entries(d.rules[type]!).map(([name, spec]) =>
          'range' in spec
            ? { parameter_name: name, parameter_type: 'range', parameter_values: { start: spec.range[0], end: spec.range[1] } }
            : { parameter_name: name, parameter_type: 'choices', parameter_values: [...spec.choices] },
        ),
      }));
  }

  /** validate_rule_for_port: a driver that serves the port's binding takes the rule. */
  ruleFitsPort(rule: RuleLike, port: { vifType: string; vnicType: string }): boolean {
    return this.drivers.some((d) => {
      const serves = SKIPPED_VIF_TYPES.has(port.vifType) ? d.vnicTypes.includes(port.vnicType) : d.vifTypes.includes(port.vifType);
      return serves && driverSupportsRule(d, rule);
    });
  }

  /** validate_rule_for_network. */
  ruleFitsNetwork(rule: RuleLike): boolean {
    return this.drivers.some((d) => driverSupportsRule(d, rule));
  }

  /** Whether a port in this binding state could take some rule at all (a driver serves it). */
  servesPort(port: { vifType: string; vnicType: string }): boolean {
    return this.drivers.some((d) => (SKIPPED_VIF_TYPES.has(port.vifType) ? d.vnicTypes.includes(port.vnicType) : d.vifTypes.includes(port.vifType)));
  }
}
