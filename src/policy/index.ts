// Public surface of the policy engine.
export {
  PolicyEngine,
  computeIsAdmin,
  computeIsAdvsvc,
  computeIsServiceRole,
  toPolicyCredentials,
  type PolicyCredentials,
  type PolicyEngineOptions,
} from './engine.js';
export { PolicyFileError } from './file.js';
export { PolicyRuleError, parseRule, compileRule } from './parser.js';
export { DEFAULT_RULES, RENAMED_RULES } from './defaults.js';
export type { Target } from './checks.js';
