/**
 * The agent's config file (`--config FILE`, JSON): policy plus one section per component
 * (mqtt, offload, encryption, …). Every section is validated before anything starts, and every
 * problem in every section is reported together.
 */
import { ConfigError, type Issue } from '../lib/errors.js';
import { parsePolicy, type Policy } from './policy.js';
import { SECTIONS } from './sections.js';
import { readJsonConfig } from './json-file.js';

/** A config section owned by one component; `parse` pushes issues and returns its typed value. */
export interface SectionParser<T = unknown> {
  readonly name: string;
  parse(value: unknown, where: string, issues: Issue[]): T;
}

export interface AgentConfig {
  /** Overrides the provisioned device id (tests, sim). */
  readonly deviceId: string | undefined;
  readonly policy: Policy;
  /** Parsed sections by name; absent sections are parsed from `undefined` (their defaults). */
  readonly sections: ReadonlyMap<string, unknown>;
}

export function sectionOf<T>(cfg: AgentConfig, name: string): T {
  return cfg.sections.get(name) as T;
}

export function parseAgentConfig(value: unknown, source: string): AgentConfig {
  const issues: Issue[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(source, [{ where: '/', message: 'the config must be a JSON object' }]);
  }
  const obj = value as Record<string, unknown>;
  const known = new Set(['$schema', 'deviceId', 'policy', ...SECTIONS.map((s) => s.name)]);
  for (const k of Object.keys(obj)) if (!known.has(k)) issues.push({ where: `/${k}`, message: `unknown section (known: ${[...known].join(', ')})` });
  let deviceId: string | undefined;
  if (obj.deviceId !== undefined) {
    if (typeof obj.deviceId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(obj.deviceId)) {
      issues.push({ where: '/deviceId', message: 'must be 1-64 characters of A-Z a-z 0-9 . _ -' });
    } else deviceId = obj.deviceId;
  }
  const { policy, issues: pIssues } = parsePolicy(obj.policy, '/policy');
  issues.push(...pIssues);
  const sections = new Map<string, unknown>();
  for (const s of SECTIONS) sections.set(s.name, s.parse(obj[s.name], `/${s.name}`, issues));
  if (issues.length) throw new ConfigError(source, issues);
  return { deviceId, policy, sections };
}

export function loadAgentConfig(path: string | undefined): AgentConfig {
  if (path === undefined) return parseAgentConfig({}, '(defaults)');
  return parseAgentConfig(readJsonConfig(path), path);
}

