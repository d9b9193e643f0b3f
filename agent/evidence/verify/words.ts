/**
 * Plain words for the record names a supervisor would otherwise read raw (`encoder_start`,
 * `PERSONAL_NEEDS`): gap causes, pause reasons, faults, duty triggers and end reasons, finding
 * kinds. A name not in the table is shown as it is, so nothing new is ever hidden.
 */
export const PLAIN: Readonly<Record<string, string>> = {
  // gap causes (docs/evidence-format.md, "gap")
  encoder_start: 'camera starting up',
  encoder_crash: 'encoder crashed (restarted)',
  encoder_stall: 'encoder stalled (restarted)',
  encoder_reconfigure: 'encoder reconfigured',
  encoder_stop: 'encoder stopping',
  agent_restart: 'agent restarted',
  power_loss: 'power lost',
  agent_stopped: 'agent stopped',
  camera_lost: 'camera disconnected',
  storage_full: 'storage full',
  encoder_restart: 'encoder restarted',
  // pause reasons
  PERSONAL_NEEDS: 'privacy pause (personal needs)',
  SENSITIVE_SITE: 'privacy pause (sensitive site)',
  // faults
  camera: 'camera fault',
  seal_failed: 'segment could not be sealed',
  segment_invalid: 'segment not valid media',
  battery_critical: 'battery critical',
  battery_forecast: 'battery will not last the shift',
  duty_store: 'duty settings could not be stored',
  gauge: 'battery gauge fault',
  offload: 'upload fault',
  overheating: 'overheating',
  unassigned: 'no wearer assigned',
  // duty triggers and end reasons
  button: 'the wearer (button)',
  dock: 'the dock',
  central: 'central',
  schedule: 'the duty schedule',
  wearer: 'the wearer (confirmed gesture)',
  // timeline marks
  signature: 'signature',
  recovery: 'recovery after a crash',
  degrade: 'recording degraded',
  // findings
  line_not_json: 'journal line damaged (not a record)',
  chain_broken: 'hash chain broken',
  no_valid_signature: 'nothing authenticated by a signature',
  unsigned_tail: 'records not yet signed',
  segment_hash: 'segment altered',
  segment_missing: 'segment missing',
  segment_unaccounted: 'segment unaccounted for',
  extra_file: 'file not in the journal',
  coverage_hole: 'time not covered',
  no_shift_end: 'shift not closed',
};

/** `encoder_start` → `camera starting up`; an unknown name is returned as it is. */
export const plain = (name: string): string => PLAIN[name] ?? name;
