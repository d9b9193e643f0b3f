/**
 * The recording room: the supervised encoder (recording/pipeline), obstruction detection on its
 * analysis frames, and the storage guard that degrades and holds it at the floor. Built once the
 * device id and the HAL exist; the guard starts watching later (the daemon's order), after the
 * open shift resumed.
 */
import { RecordingPipeline } from './pipeline.js';
import { StorageGuard } from '../storage/guard.js';
import { ObstructionRoom, ANALYSIS_FORMAT } from '../obstruction/room.js';
import { sceneFor } from '../../hal/sim/lavfi-camera.js';
import type { SegmentStorer } from '../evidence/storer.js';
import type { JournalReserve } from '../evidence/journal-reserve.js';
import type { Core } from '../parts.js';
import { sectionOf } from '../config/agent-config.js';
import type { LiveViewConfig } from '../live-view/config.js';

export interface RecordingRoomDeps {
  readonly storer: SegmentStorer;
  readonly reserve: JournalReserve;
  readonly serialize: (fn: () => Promise<void>) => Promise<void>;
  /** A new encoder run: its number is persisted before it can name a segment. */
  readonly onRun: () => void;
}

export class RecordingRoom {
  constructor(
    private readonly c: Core,
    private readonly d: RecordingRoomDeps,
  ) {}

  start(): void {
    const { dataDir, board, parts, faults, log } = this.c;
    const journal = (type: string, fields: Record<string, unknown>): void => void this.c.journal(type, fields);
    const liveView = sectionOf<LiveViewConfig | undefined>(this.c.config, 'liveView');
    const pipeline = new RecordingPipeline({
      dataDir,
      board,
      deviceId: this.c.deviceId,
      policy: () => this.c.policy(),
      storer: this.d.storer,
      evidence: this.c.evidence,
      faults,
      camera: () => parts.hal!.camera,
      journal,
      belowFloor: () => parts.guard?.belowFloor() ?? { below: false, freeBytes: 0 },
      serialize: this.d.serialize,
      log: log.child('recording'),
      analysis: () => (parts.obstruction?.wanted ? ANALYSIS_FORMAT : undefined),
      scene: () => (parts.hal?.sim ? sceneFor(dataDir, parts.hal.sim.state) : undefined),
      ...(liveView ? { liveTap: { port: liveView.tapPort } } : {}),
    });
    parts.pipeline = pipeline;
    parts.obstruction = new ObstructionRoom({
      pipeline,
      policy: () => this.c.policy(),
      faults,
      journal,
      nag: () => parts.feedback?.nag(),
      log: log.child('obstruction'),
      ...(this.c.board.calibration ? { calibration: this.c.board.calibration } : {}),
    });
    parts.obstruction.start();
    pipeline.on('run', () => this.d.onRun());
    pipeline.on('changed', () => this.c.statusChanged());
    pipeline.start();
    parts.guard = new StorageGuard({
      dataDir,
      minFreeMb: board.storage.minFreeMb ?? 256,
      policy: () => this.c.policy(),
      faults,
      recorder: pipeline,
      reserve: this.d.reserve,
      serialize: this.d.serialize,
      log: log.child('storage'),
    });
  }

  /** The encoder finalizes its segment (sealed and journaled) before the shift is suspended. */
  async drain(): Promise<void> {
    await this.c.parts.pipeline?.stop();
    this.c.parts.obstruction?.stop();
  }
}
