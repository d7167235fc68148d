export { ConfigError } from './errors.js';
export { loadConfig, findOption, OVERRIDES_SOURCE, type Config, type ConfigOverrides } from './load.js';
export { SCHEMA, type Schema } from './schema.js';
export type { OptDef, OptKind } from './options.js';
export { parseMappings, parseVlanRanges, parseVniRanges, VLAN_MIN, VLAN_MAX, VNI_LIMITS, type IdRange, type TunnelType } from './ranges.js';
export { unknownOptions, type UnknownOption } from './unknown-options.js';
