/** Config section `liveView` (agent/live-view/live-view.schema.json): where the recording's RTP copy goes on loopback. */
import type { Issue } from '../lib/errors.js';
import type { SectionParser } from '../config/types.js';
import { schemaCheck } from '../config/schema.js';
import type { LiveViewSection } from '../generated/config-schemas.js';

export interface LiveViewConfig {
  /** 127.0.0.1 UDP port of the recording ffmpeg's RTP output. */
  readonly tapPort: number;
  /** MQTT down this long ends a session (cause link_lost). */
  readonly linkLostS: number;
}

const check = schemaCheck<Required<LiveViewSection>>('liveViewValidate');

/** Absent section: undefined — no RTP output on the recording ffmpeg, live_view_start refused as unavailable. */
export const liveViewSection: SectionParser<LiveViewConfig | undefined> = {
  name: 'liveView',
  parse(value, where, issues: Issue[]): LiveViewConfig | undefined {
    if (value === undefined) return undefined;
    const c = check(value, where, issues);
    return c ? { tapPort: c.tapPort, linkLostS: c.linkLostS } : undefined;
  },
};
