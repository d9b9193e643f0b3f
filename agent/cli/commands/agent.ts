/** `bodycam agent`: the daemon. Validates everything before starting anything (bad config → exit 2). */
import type { Command } from '../command.js';
import { parseArgs, dataDirFrom, DATA_DIR_FLAG } from '../args.js';
import { UsageError } from '../../lib/errors.js';
import { resolveBoard } from '../../config/board.js';
import { loadAgentConfig } from '../../config/agent-config.js';
import { Daemon } from '../../daemon.js';
import { createLogger } from '../../lib/log.js';
import { acquireInstanceLock } from '../../lib/instance-lock.js';
import { assertPreflight } from '../../preflight.js';
import { mkdirSync } from 'node:fs';

const FLAGS = {
  ...DATA_DIR_FLAG,
  board: { type: 'string', help: 'board name (board-configs/NAME.json) or path' },
  config: { type: 'string', help: 'agent config file (JSON: policy and component sections)' },
  'mqtt-url': { type: 'string', help: 'MQTT broker URL (turns telemetry on, or overrides mqtt.url)' },
} as const;

/** sysexits' EX_CONFIG: the unit file names it in RestartPreventExitStatus=. */
export const NO_BOARD_EXIT = 78;
const NO_BOARD_HINT =
  'Choose the board config this camera runs with: a name from board-configs/ (e.g. rpi4-uvc) or a path.\n' +
  'Installed from the .deb: set BODYCAM_BOARD in /etc/default/bodycam-agent, then `systemctl restart bodycam-agent`.\n' +
  'Built with the Yocto layer: set BODYCAM_BOARD in the machine config or local.conf.\n' +
  '`sim` (no hardware, a test pattern) is for demos and tests only.';

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run the camera agent (systemd Type=notify)',
  usage: 'usage: bodycam agent --board NAME|PATH [--data-dir DIR] [--config FILE] [--mqtt-url URL]',
  async run(argv) {
    const { flags, positionals } = parseArgs(argv, FLAGS, 'agent');
    if (positionals.length) throw new UsageError(`agent: unexpected argument '${positionals[0]}'`);
    if (flags.board === undefined) throw new UsageError(`agent: --board is required\n${NO_BOARD_HINT}`);
    if (!flags.board.trim()) {
      // The packaged unit runs `--board ${BODYCAM_BOARD}`: empty means nobody chose the board. No
      // default (a real camera on the sim board would record a test pattern); exit 78, which the
      // unit's RestartPreventExitStatus= turns into a failed unit instead of a restart loop.
      console.error(`bodycam agent: no board configured: --board is empty (BODYCAM_BOARD is not set)\n${NO_BOARD_HINT}`);
      return NO_BOARD_EXIT;
    }
    // The mqtt section reads BODYCAM_MQTT_URL while it is parsed (same override as the env var).
    if (flags['mqtt-url'] !== undefined) process.env.BODYCAM_MQTT_URL = flags['mqtt-url'];
    // Parse every input first: a bad config must not start an encoder.
    const { board } = resolveBoard(flags.board);
    const config = loadAgentConfig(flags.config);
    const dataDir = dataDirFrom(flags['data-dir']);
    // One agent per data dir, decided before anything else is touched: a second agent exits 1
    // without killing the first one's encoder or writing to its journal.
    mkdirSync(dataDir, { recursive: true });
    acquireInstanceLock(dataDir);
    // Everything that can be checked before recording is checked now: every problem, exit 2.
    assertPreflight(dataDir, board, config);
    const daemon = new Daemon({ dataDir, board, config });
    const log = createLogger('main');
    let stopping: Promise<void> | undefined;
    const stop = (sig: string): void => {
      log.info('signal', { sig });
      stopping ??= daemon.stop().finally(() => process.exit(0));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // Node's default for SIGHUP kills the process (a gap in the evidence): re-read the config's
    // policy instead; an invalid file is reported and the running policy kept.
    process.on('SIGHUP', () => {
      try {
        daemon.reloadConfigPolicy(loadAgentConfig(flags.config).policy);
      } catch (e) {
        log.error('SIGHUP: config not reloaded; the running policy stays', { err: e });
      }
    });
    process.on('uncaughtException', (e) => {
      // Last resort: log and keep recording; a crash would lose more than the failed callback.
      log.error('uncaught exception', { err: e, stack: e.stack });
    });
    process.on('unhandledRejection', (e) => log.error('unhandled rejection', { err: e }));
    await daemon.start();
    await new Promise<never>(() => undefined);
    return 0;
  },
};
