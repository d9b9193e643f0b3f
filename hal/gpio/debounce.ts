/**
 * Software debounce for edge streams. A contact bounces for a few ms; the level counts as changed
 * only after it stayed put for `ms`, and the change is dated at the first edge of the burst (the
 * moment the wearer actually pressed), so gesture timing is not skewed by the debounce window.
 */
export class Debouncer {
  private stable: boolean;
  private raw: boolean;
  private since: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    initial: boolean,
    private readonly ms: number,
    private readonly onChange: (level: boolean, atMono: number) => void,
  ) {
    this.stable = initial;
    this.raw = initial;
  }

  get level(): boolean {
    return this.stable;
  }

  /** Feeds one raw edge (the new raw level) observed at `atMono`. */
  edge(level: boolean, atMono: number): void {
    this.raw = level;
    if (this.ms <= 0) {
      this.settle(atMono);
      return;
    }
    this.since ??= atMono;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const at = this.since ?? atMono;
      this.since = undefined;
      this.settle(at);
    }, this.ms);
  }

  private settle(atMono: number): void {
    if (this.raw === this.stable) return;
    this.stable = this.raw;
    this.onChange(this.stable, atMono);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
