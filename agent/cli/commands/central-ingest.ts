/**
 * `bodycam central ingest [--config FILE] [--once]`: central's ingest service (central/ingest/).
 * Long-running by default (systemd: docs/central/bodycam-ingest.service); `--once` lists recent
 * uploads, decides each one and exits: 0 when every shift found is verified (or was already
 * decided), 1 when one was refused or could not be handled, 2 for a bad config.
 *
 * The service lives in `central/`, outside the camera's package (package.json "files"): it is
 * loaded only here, so the device's `bodycam` never pays for it or needs it.
 */
import { parseArgs } from '../args.js';
import { BodycamError, UsageError, errnoCode } from '../../lib/errors.js';

export const INGEST_USAGE = `  ingest  [--config FILE] [--once]
      The ingest service: verifies every uploaded shift and publishes the signed confirm_offload
      (docs/central-ingest.md). FILE defaults to /etc/bodycam/ingest.json.`;

/**
 * central/ingest/, found at run time: a computed specifier, so that compiling the camera alone
 * (the Yocto recipe's tsc over agent/ and hal/) neither needs nor emits central's code. The two
 * interfaces below are the part of it this command uses.
 */
const CENTRAL_INGEST = new URL('../../../central/ingest/', import.meta.url);

interface IngestRunner {
  start(o?: { once?: boolean }): Promise<void>;
  idle(): Promise<void>;
  stop(): Promise<void>;
  readonly outcomes: ReadonlyMap<string, 'verified' | 'refused' | 'already' | 'waiting' | 'error'>;
}
interface ConfigModule {
  loadIngestConfig(path: string): unknown;
}
interface ServiceModule {
  IngestService: new (cfg: never) => IngestRunner;
}

export async function ingest(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { config: { type: 'string' }, once: { type: 'boolean' } }, 'central ingest');
  if (positionals.length) throw new UsageError(`central ingest: unexpected argument '${positionals[0]}'`);
  let config: ConfigModule;
  let service: ServiceModule;
  try {
    config = (await import(new URL('config.js', CENTRAL_INGEST).href)) as ConfigModule;
    service = (await import(new URL('service.js', CENTRAL_INGEST).href)) as ServiceModule;
  } catch (e) {
    if (errnoCode(e) !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new BodycamError('STATE', 'central ingest is not part of this install (the camera package ships dist/agent and dist/hal only): run it from a central install of this repository');
  }
  const { loadIngestConfig } = config;
  const { IngestService } = service;
  const cfg = loadIngestConfig(flags.config ?? '/etc/bodycam/ingest.json');
  const svc = new IngestService(cfg as never);
  if (flags.once) {
    await svc.start({ once: true });
    await svc.idle();
    await svc.stop();
    const outcomes = [...svc.outcomes.values()];
    return outcomes.some((o) => o === 'refused' || o === 'error') ? 1 : 0;
  }
  await svc.start();
  await new Promise<void>((resolve) => {
    const done = (): void => resolve();
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  await svc.stop();
  return 0;
}
