/**
 * The commands extension: central's signed commands, whichever way they arrive — over MQTT
 * (telemetry receives `cmd` and hands the payload here) or at the dock (`bodycam command --file`,
 * control op `command`). It stands apart from telemetry because a camera that is docked but has
 * no broker configured must still take central's `confirm_offload` (to free its storage) and
 * `set_policy`. Verification, replay cache and journaling are the same for both paths.
 *
 * Service `commands` (CommandsService): `handle(payload, via)`, and a `result` event for every
 * answer, which telemetry (when configured) publishes on `cmd/result`.
 */
import { join } from 'node:path';
import type { AgentContext, Extension } from '../extension.js';
import type { AgentConfig } from '../config/agent-config.js';
import { sectionOf } from '../config/agent-config.js';
import { TypedEmitter } from '../lib/typed-emitter.js';
import { createLogger } from '../lib/log.js';
import { describe, ProtocolError } from '../lib/errors.js';
import { pb, type CommandResultProps } from '../telemetry/proto.js';
import { parseCentralConfig, type CentralConfig } from './config.js';
import { ReplayCache } from './replay-cache.js';
import { CommandProcessor, type Via } from './dispatch.js';

const log = createLogger('commands');

export type { Via } from './dispatch.js';

export interface CommandsEvents extends Record<string, unknown[]> {
  /** A payload was answered (accepted or refused), from either path. */
  result: [result: CommandResultProps, via: Via];
}

/** What other extensions see under `ctx.services.get<CommandsService>('commands')`. */
export interface CommandsService {
  /** Verifies, applies and journals one payload; never throws. Fires `result` before resolving. */
  handle(payload: Uint8Array, via: Via): Promise<CommandResultProps>;
  on(event: 'result', listener: (result: CommandResultProps, via: Via) => void): unknown;
  off(event: 'result', listener: (result: CommandResultProps, via: Via) => void): unknown;
}

class Commands extends TypedEmitter<CommandsEvents> implements CommandsService {
  constructor(private readonly processor: CommandProcessor) {
    super();
  }

  async handle(payload: Uint8Array, via: Via): Promise<CommandResultProps> {
    const result = await this.processor.handle(payload, via);
    try {
      this.emit('result', result, via);
    } catch (e) {
      // A listener's failure (e.g. publishing the result) must not turn an applied command into an error.
      log.error('command result listener failed', { error: describe(e) });
    }
    return result;
  }
}

export class CommandsExtension implements Extension {
  readonly name = 'commands';
  private processor: CommandProcessor | undefined;

  constructor(private readonly central: CentralConfig) {}

  async start(ctx: AgentContext): Promise<void> {
    // Kept where telemetry kept it before this extension existed: devices in the field have
    // nonces there, and a new path would forget them (a replay window of up to maxTtlS).
    const replay = new ReplayCache(join(ctx.dataDir, 'telemetry'));
    replay.load(Date.now());
    this.processor = new CommandProcessor(ctx, this.central, replay);
    const service = new Commands(this.processor);
    ctx.services.provide<CommandsService>('commands', service);
    ctx.registerControlOp('command', async (req) => {
      if (typeof req.payload !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(req.payload)) {
        throw new ProtocolError("op 'command' needs 'payload': a signed command, base64");
      }
      const result = await service.handle(Buffer.from(req.payload, 'base64'), 'dock');
      return pb.CommandResult.toObject(pb.CommandResult.create(result), { enums: String, defaults: true });
    });
    if (this.central.commandKeys.length === 0) log.warn('no central command key configured (central.commandPublicKey): every command is refused');
    log.info('commands started', { keys: this.central.commandKeyPaths.length });
  }

  async stop(): Promise<void> {
    // Nothing to flush: the replay cache is written (fsynced) before each command is acted on.
  }

  status(): Record<string, unknown> {
    return { accepted: this.processor?.accepted ?? 0, refused: this.processor?.refused ?? 0 };
  }
}

/**
 * Extension factory (agent/extensions.ts). Loaded when central's key is configured, or when MQTT
 * is: commands arriving on `cmd` without a key are still answered (REFUSAL_NO_KEY) and journaled.
 */
export function commandsExtension(config: AgentConfig): Extension | undefined {
  return new CommandsExtension(sectionOf<CentralConfig | undefined>(config, 'central') ?? parseCentralConfig(undefined, '/central', []));
}
