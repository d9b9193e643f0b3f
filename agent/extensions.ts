/**
 * The extensions the daemon starts after the recording core, in this order (stopped in reverse).
 * Each factory may return undefined when its config section turns it off.
 */
import type { AgentConfig } from './config/agent-config.js';
import type { BoardConfig } from './config/board.js';
import type { Extension } from './extension.js';
import { telemetryExtension } from './telemetry/extension.js';
import { offloadExtension } from './offload/extension.js';
import { powerExtension } from './power/extension.js';

export type ExtensionFactory = (config: AgentConfig, board: BoardConfig) => Extension | undefined;

export const EXTENSIONS: readonly ExtensionFactory[] = [powerExtension, telemetryExtension, offloadExtension];
