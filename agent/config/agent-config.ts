/**
 * The agent's config file (`--config FILE`, JSON; agent/config/schema/agent-config.schema.json):
 * policy plus one section per component (mqtt, offload, encryption, …). Every section is
 * validated against its own schema before anything starts, and every problem in every section is
 * reported together.
 */
import { ConfigError, type Issue } from '../lib/errors.js';
import { parsePolicy } from './policy.js';
import { SECTIONS } from './sections.js';
import { readJsonConfig } from './json-file.js';
import { schemaCheck } from './schema.js';
import type { AgentConfig } from './types.js';

export type { AgentConfig, SectionParser } from './types.js';

export function sectionOf<T>(cfg: AgentConfig, name: string): T {
  return cfg.sections.get(name) as T;
}

/** The top level only: which keys exist, deviceId. The policy and each section check themselves. */
const checkTop = schemaCheck<{ deviceId?: string }>('agentConfigValidate');

export function parseAgentConfig(value: unknown, source: string): AgentConfig {
  const issues: Issue[] = [];
  const top = checkTop(value, '', issues);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(source, issues);
  const obj = value as Record<string, unknown>;
  const { policy, issues: pIssues } = parsePolicy(obj.policy, '/policy');
  issues.push(...pIssues);
  const sections = new Map<string, unknown>();
  for (const s of SECTIONS) sections.set(s.name, s.parse(obj[s.name], `/${s.name}`, issues));
  if (issues.length) throw new ConfigError(source, issues);
  return { deviceId: top?.deviceId, policy, sections };
}

export function loadAgentConfig(path: string | undefined): AgentConfig {
  if (path === undefined) return parseAgentConfig({}, '(defaults)');
  return parseAgentConfig(readJsonConfig(path), path);
}
