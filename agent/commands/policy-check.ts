/**
 * What central checks before it signs a set_policy (`bodycam central sign` and the console alike):
 * the camera checks the values with parsePolicy over its current policy and refuses the whole
 * command on any issue, so central runs the same check over the default policy first.
 * An issue at a field the command sets (unknown name, out of range, a rule between two fields
 * both set) is refused on every camera: fatal, nothing is signed. One at a field it does not set
 * (e.g. batteryLowPct below the default batteryCriticalPct) depends on the camera's own policy: a
 * warning, signed anyway.
 */
import { parsePolicy } from '../config/policy.js';

export interface PolicyIssue {
  /** The policy field the issue is about ('' for the values as a whole). */
  readonly field: string;
  readonly message: string;
}

export function setPolicyIssues(values: Record<string, number>): { fatal: PolicyIssue[]; warnings: PolicyIssue[] } {
  const where = '/set_policy';
  const { issues } = parsePolicy(values, where);
  const fatal: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  for (const i of issues) {
    const field = i.where.slice(where.length + 1).split('/')[0]!;
    // An issue with no field (the values as a whole) is refused on every camera too.
    (field === '' || Object.hasOwn(values, field) ? fatal : warnings).push({ field, message: i.message });
  }
  return { fatal, warnings };
}
