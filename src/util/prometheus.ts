// Prometheus text exposition (format 0.0.4) for the daemon's own metrics, written here rather than
// pulled in with prom-client: three metric kinds, label escaping, and a histogram are all we need.
//
// Counters and gauges that mirror state the daemon already keeps (pods, containers, pulled bytes)
// are read when scraped (`collect` callbacks), so nothing has to be kept in step with it.

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

/** Something that writes its lines (HELP, TYPE, samples) into a scrape. */
export interface Collector {
  render(out: string[]): void;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** Go's strconv formatting as Prometheus parses it: +Inf, -Inf, NaN, else the shortest decimal. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkName(name: string, labelNames: readonly string[]): void {
  if (!NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  for (const l of labelNames) if (!LABEL.test(l) || l.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(l)}`);
}

function header(out: string[], name: string, help: string, type: string): void {
  out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
}

/** A counter or gauge whose samples are taken at scrape time. */
export class CollectedMetric implements Collector {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    private readonly collect: () => readonly Sample[],
  ) {
    checkName(name, []);
  }

  render(out: string[]): void {
    header(out, this.name, this.help, this.type);
    for (const s of this.collect()) {
      checkName(this.name, Object.keys(s.labels));
      out.push(`${this.name}${labelText(s.labels)} ${formatValue(s.value)}`);
    }
  }
}

interface Series {
  readonly labels: Labels;
  /** Per bucket, not cumulative; the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A histogram with fixed label names; buckets are upper bounds, ascending. */
export class Histogram implements Collector {
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    checkName(name, [...labelNames, 'le']);
    if (labelNames.includes('le')) throw new Error('"le" is the bucket label of a histogram');
    for (let i = 1; i < buckets.length; i++) {
      if (!((buckets[i] as number) > (buckets[i - 1] as number))) throw new Error('histogram buckets must ascend');
    }
  }

  observe(labelValues: readonly string[], v: number): void {
    if (labelValues.length !== this.labelNames.length) throw new Error(`${this.name} takes ${this.labelNames.length} label values`);
    const key = labelValues.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      const labels = Object.fromEntries(this.labelNames.map((n, i) => [n, labelValues[i] as string]));
      s = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = this.buckets.findIndex((b) => v <= b);
    if (i < 0) i = this.buckets.length;
    s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += v;
    s.count++;
  }

  render(out: string[]): void {
    header(out, this.name, this.help, 'histogram');
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (const [i, b] of [...this.buckets, Infinity].entries()) {
        cumulative += s.counts[i] as number;
        out.push(`${this.name}_bucket${labelText(s.labels, ['le', formatValue(b)])} ${cumulative}`);
      }
      out.push(`${this.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`, `${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
  }
}

/** The exposition of every collector, in the order added. */
export function renderMetrics(collectors: readonly Collector[]): string {
  const out: string[] = [];
  for (const c of collectors) c.render(out);
  return out.join('\n') + '\n';
}

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
