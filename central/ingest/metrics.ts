/**
 * Ingest counters in the Prometheus text format, written atomically to a file after every shift
 * (node_exporter's textfile collector picks it up; no port to open on the evidence network).
 */
import { writeFileAtomic } from '../../agent/lib/atomic.js';

export class IngestMetrics {
  verified = 0;
  refused = 0;
  waiting = 0;
  confirmsPublished = 0;
  alertsPublished = 0;
  bytes = 0;
  verifySecondsSum = 0;
  verifyCount = 0;
  errors = 0;
  /** Open shifts followed in the last live scan (a gauge). */
  liveFollowed = 0;
  liveChunks = 0;
  liveBytesHashed = 0;
  readonly liveAlerts: Record<string, number> = { live_refused: 0, live_lagging: 0, camera_dark: 0 };

  constructor(private readonly file: string | undefined, private readonly worker: string) {}

  render(): string {
    const w = `worker="${this.worker}"`;
    const lines = [
      '# HELP bodycam_ingest_shifts_total Shifts ingest finished, by result.',
      '# TYPE bodycam_ingest_shifts_total counter',
      `bodycam_ingest_shifts_total{${w},result="verified"} ${this.verified}`,
      `bodycam_ingest_shifts_total{${w},result="refused"} ${this.refused}`,
      '# HELP bodycam_ingest_waiting_total Shifts seen before their upload was complete.',
      '# TYPE bodycam_ingest_waiting_total counter',
      `bodycam_ingest_waiting_total{${w}} ${this.waiting}`,
      '# HELP bodycam_ingest_bytes_total Evidence bytes verified.',
      '# TYPE bodycam_ingest_bytes_total counter',
      `bodycam_ingest_bytes_total{${w}} ${this.bytes}`,
      '# HELP bodycam_ingest_verify_seconds Time to download and verify one shift.',
      '# TYPE bodycam_ingest_verify_seconds summary',
      `bodycam_ingest_verify_seconds_sum{${w}} ${this.verifySecondsSum.toFixed(3)}`,
      `bodycam_ingest_verify_seconds_count{${w}} ${this.verifyCount}`,
      '# HELP bodycam_ingest_confirms_total Signed confirm_offload commands published.',
      '# TYPE bodycam_ingest_confirms_total counter',
      `bodycam_ingest_confirms_total{${w}} ${this.confirmsPublished}`,
      '# HELP bodycam_ingest_alerts_total Refusal alerts published.',
      '# TYPE bodycam_ingest_alerts_total counter',
      `bodycam_ingest_alerts_total{${w}} ${this.alertsPublished}`,
      '# HELP bodycam_ingest_errors_total Shift handlings that failed (store or broker down) and will be retried.',
      '# TYPE bodycam_ingest_errors_total counter',
      `bodycam_ingest_errors_total{${w}} ${this.errors}`,
      '# HELP bodycam_ingest_live_shifts Open shifts followed in the last live scan.',
      '# TYPE bodycam_ingest_live_shifts gauge',
      `bodycam_ingest_live_shifts{${w}} ${this.liveFollowed}`,
      '# HELP bodycam_ingest_live_chunks_total Live journal chunks verified.',
      '# TYPE bodycam_ingest_live_chunks_total counter',
      `bodycam_ingest_live_chunks_total{${w}} ${this.liveChunks}`,
      '# HELP bodycam_ingest_live_bytes_hashed_total Segment bytes hashed while following open shifts (each segment once).',
      '# TYPE bodycam_ingest_live_bytes_hashed_total counter',
      `bodycam_ingest_live_bytes_hashed_total{${w}} ${this.liveBytesHashed}`,
      '# HELP bodycam_ingest_live_alerts_total Live alerts published, by kind.',
      '# TYPE bodycam_ingest_live_alerts_total counter',
      ...Object.entries(this.liveAlerts).map(([k, v]) => `bodycam_ingest_live_alerts_total{${w},kind="${k}"} ${v}`),
    ];
    return lines.join('\n') + '\n';
  }

  flush(): void {
    if (this.file) writeFileAtomic(this.file, this.render(), 0o644);
  }
}
