/**
 * The registry of config-file sections. Each component owns its section's parser in its own
 * folder and adds one line here.
 */
import type { SectionParser } from './agent-config.js';
import { encryptionSection } from '../evidence/encrypt.js';
import { offloadSection } from '../offload/config.js';
import { mqttSection } from '../telemetry/config.js';
import { centralSection } from '../commands/config.js';
import { powerSection } from '../power/config.js';

export const SECTIONS: readonly SectionParser[] = [encryptionSection, offloadSection, mqttSection, centralSection, powerSection];
