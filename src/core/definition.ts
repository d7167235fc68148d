// Resources and their attributes as data (Neutron's RESOURCE_ATTRIBUTE_MAP in our own shape).
// The generic controller derives request validation, defaults, visibility, filters, sort keys
// and attribute-level policy from these declarations.

/** Validates and converts one attribute value; throws NeutronError (400) with a clear message. */
export type Validator = (value: unknown, attr: string) => unknown;

/**
 * Where an attribute is stored: a column of its resource's table (`ResourceDef.table`). Filters,
 * sort keys and pagination markers of table-backed resources are turned into SQL through it.
 */
export interface ColumnDef {
  /** Column name; the attribute's own name when absent. */
  name?: string;
  /** API value -> stored value, for filters (booleans are stored as 0/1). */
  toDb?: (v: unknown) => unknown;
}

export interface AttributeDef {
  /** May be given on create / update. */
  allowPost: boolean;
  allowPut: boolean;
  /** Value used when absent on create. Absent `default` + allowPost means "required". */
  default?: unknown;
  /** A function default (e.g. fresh UUIDs, lists). */
  defaultFn?: () => unknown;
  validate?: Validator;
  /** Shown in responses (Neutron's is_visible). */
  visible: boolean;
  /** Usable as a query filter (?name=x). */
  filter?: boolean;
  /** Converts one query-string value to the attribute's type for filtering. */
  filterConvert?: (raw: string, attr: string) => unknown;
  sortKey?: boolean;
  /** Checked with an attribute-level policy rule (e.g. create_network:shared). */
  enforcePolicy?: boolean;
  /** Always fetched for the policy check even when `fields=` omits it. */
  requiredByPolicy?: boolean;
  primaryKey?: boolean;
  /** Extension alias that brings this attribute (null: core). */
  extension?: string;
  /** Extension alias that makes the attribute updatable when it is on (allowPut then true). */
  putWith?: string;
  /**
   * The validator to use instead when that extension is listed (an extension that widens a
   * core attribute, as qos-gateway-ip adds qos_policy_id to a router's external_gateway_info).
   */
  widenedBy?: { extension: string; validate: Validator };
  /** Its column, when the attribute is stored as one in the resource's table. */
  column?: ColumnDef;
}

export interface ResourceDef {
  /** Singular name: "network". */
  name: string;
  /** Collection name: "networks" (the body key of lists and bulk creates). */
  collection: string;
  /** URL segment when it differs from `collection` (Neutron's "rbac-policies" for rbac_policies). */
  path?: string;
  /**
   * Database table when it differs from `collection` (segments live in network_segments; tags
   * bump its revision; table-backed handlers read it).
   */
  table?: string;
  attributes: Record<string, AttributeDef>;
  /** Resource supports the standard-attr-tag /tags sub-resource. */
  taggable?: boolean;
  /** Policy target key naming the parent (e.g. "network" for ports: network:tenant_id). */
  parent?: { resource: string; idAttr: string };
  /**
   * A sub-resource served under its parent's URL: /v2.0/<parentPath>/{parent_id}/<path>. The
   * parent id from the URL fills `parent.idAttr` (Neutron's SUB_RESOURCE_ATTRIBUTE_MAP).
   */
  parentPath?: string;
  /** The operations that have routes (default: all five). */
  operations?: ReadonlyArray<'list' | 'create' | 'show' | 'update' | 'delete'>;
  /**
   * Member actions: PUT (or GET) /v2.0/<collection>/{id}/<name>, run by the handler's
   * `action()` after the caller is seen to see the item and pass the rule named after the action
   * (Neutron's member_actions). `extension`: listed only with that extension.
   */
  memberActions?: ReadonlyArray<MemberActionDef>;
}

export interface MemberActionDef {
  name: string;
  method?: 'put' | 'get';
  extension?: string;
  /**
   * The body {"<resource>": {attr: value}} is checked against `<action>:<attr>` and, for dicts
   * or lists of dicts, `<action>:<attr>:<key>` rules (as create and update are).
   */
  bodyPolicy?: boolean;
}
