/**
 * The extensions the daemon starts after the recording core, in this order (stopped in reverse).
 * Each is loaded lazily and only when its config section is present: a camera without MQTT
 * configured does not carry mqtt.js and protobufjs in memory (measured: ~15 MB of RSS).
 * A factory may still return undefined when its section turns it off.
 */
import type { AgentConfig } from './config/agent-config.js';
import type { BoardConfig } from './config/board.js';
import type { Extension } from './extension.js';
import { hasCommandKeys, type CentralConfig } from './commands/config.js';

export type ExtensionFactory = (config: AgentConfig, board: BoardConfig) => Extension | undefined;

export interface ExtensionEntry {
  readonly name: string;
  /** Whether to load it at all (cheap: looks at parsed config only). */
  readonly wanted: (config: AgentConfig, board: BoardConfig) => boolean;
  readonly load: () => Promise<ExtensionFactory>;
}

const hasSection = (name: string) => (config: AgentConfig): boolean => config.sections.get(name) !== undefined;
/**
 * Commands come through the dock as well as MQTT, so central's key alone loads them. With MQTT but
 * no key they still load: a command on `cmd` is answered (REFUSAL_NO_KEY) and journaled, as always.
 */
const wantsCommands = (config: AgentConfig): boolean => hasCommandKeys(config.sections.get('central') as CentralConfig | undefined) || hasSection('mqtt')(config);

export const EXTENSIONS: readonly ExtensionEntry[] = [
  { name: 'power', wanted: () => true, load: async () => (await import('./power/extension.js')).powerExtension },
  // Before telemetry: telemetry hands MQTT commands to the `commands` service and publishes its results.
  { name: 'commands', wanted: wantsCommands, load: async () => (await import('./commands/extension.js')).commandsExtension },
  // Only with a liveView section: the recording ffmpeg then carries the RTP tap the room forwards.
  { name: 'liveView', wanted: hasSection('liveView'), load: async () => (await import('./live-view/extension.js')).liveViewExtension },
  { name: 'telemetry', wanted: hasSection('mqtt'), load: async () => (await import('./telemetry/extension.js')).telemetryExtension },
  { name: 'offload', wanted: hasSection('offload'), load: async () => (await import('./offload/extension.js')).offloadExtension },
];
