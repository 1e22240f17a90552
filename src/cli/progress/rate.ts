/**
 * Transfer rate over the last few seconds: recent enough to follow a
 * change of speed, long enough not to jump with every chunk.
 */
export class RateMeter {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(
    private readonly windowMs = 5000,
    /** Below this span there is no rate yet: two samples a moment apart say nothing. */
    private readonly minSpanMs = 200,
  ) {}

  /** Bytes moved in all at time `at` (ms); never smaller than the sample before. */
  sample(at: number, bytes: number): void {
    this.samples.push({ at, bytes });
    // Keep one sample older than the window, so the window is always spanned once it has passed.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - this.windowMs) this.samples.shift();
  }

  /** Bytes a second, or undefined until the samples span minSpanMs. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (first === undefined || last === undefined) return undefined;
    const span = last.at - first.at;
    if (span < this.minSpanMs) return undefined;
    return ((last.bytes - first.bytes) * 1000) / span;
  }
}
