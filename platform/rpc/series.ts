/**
 * Counters and histograms for the hot path of every call, exposed through a
 * prom-client Registry (which only asks them for their values at scrape
 * time). prom-client's own metrics hash and validate the labels on every
 * update; these keep one object per label set, so counting a call is an
 * increment and observing a latency is a bucket search.
 */
type Labels = Record<string, string>;

interface MetricValue {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
}

export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    if (i < b.length) this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class LabeledCounter {
  readonly type = "counter";
  private readonly series = new Map<string, CounterSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The series for `key`, made with `labels()` the first time. */
  at(key: string, labels: () => Labels): CounterSeries {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new CounterSeries(labels())));
    return s;
  }

  get() {
    const values: MetricValue[] = [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: "sum", values };
  }

  reset(): void {
    this.series.clear();
  }
}

export class LabeledHistogram {
  readonly type = "histogram";
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  at(key: string, labels: () => Labels): HistogramSeries {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new HistogramSeries(labels(), this.bounds)));
    return s;
  }

  get() {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: String(le), ...s.labels }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: "+Inf", ...s.labels }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: "sum", values };
  }

  reset(): void {
    this.series.clear();
  }
}
