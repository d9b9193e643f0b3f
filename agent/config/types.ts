/**
 * Types shared by the agent config, its section registry and the sections' parsers. Here, not in
 * agent-config.ts, so that a section parser does not import the module that imports it (an
 * import circle, type-only or not).
 */
import type { Issue } from '../lib/errors.js';
import type { Policy } from './policy.js';

/**
 * A config section owned by one component; `parse` checks the section against its schema and the
 * rules between its fields, pushes every issue and returns its typed value.
 */
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
