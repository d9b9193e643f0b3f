/**
 * The registry of config-file sections. Each component owns its section's parser and schema in
 * its own folder and adds one line here (and one `$ref` in schema/agent-config.schema.json).
 */
import type { SectionParser } from './types.js';
import { encryptionSection } from '../evidence/config.js';
import { offloadSection } from '../offload/config.js';
import { mqttSection } from '../telemetry/config.js';
import { centralSection } from '../commands/config.js';
import { powerSection } from '../power/config.js';
import { updateSection } from '../update/config.js';
import { liveViewSection } from '../live-view/config.js';

export const SECTIONS: readonly SectionParser[] = [encryptionSection, offloadSection, mqttSection, centralSection, powerSection, updateSection, liveViewSection];
