// Public surface of the policy engine.
export {
  PolicyEngine,
  computeIsAdmin,
  computeIsAdvsvc,
  computeIsServiceRole,
  tokenScope,
  toPolicyCredentials,
  type PolicyCredentials,
  type PolicyEngineOptions,
} from './engine.js';
export { PolicyFileError } from './file.js';
export { PolicyRuleError, parseRule, compileRule } from './parser.js';
export { DEFAULT_RULES, NEW_DEFAULT_RULES, PROJECT_SCOPED_RULES, RENAMED_RULES } from './defaults.js';
export type { Target } from './checks.js';
export { policyFromConfig, policyFilesFromConfig, type PolicyConfig } from './from-config.js';
