// The text exposition the daemon's /metrics writes: what Prometheus parses, escaping included.
import { expect } from 'chai';
import { CollectedMetric, formatValue, Histogram, renderMetrics } from '../../../src/util/prometheus.js';

describe('util/prometheus', function () {
  it('writes HELP, TYPE and one line per sample, reading the values when scraped', function () {
    let n = 1;
    const g = new CollectedMetric('skiff_pods', 'Pods by state.', 'gauge', () => [
      { labels: { state: 'ready' }, value: n },
      { labels: { state: 'notready' }, value: 0 },
    ]);
    expect(renderMetrics([g])).to.equal('# HELP skiff_pods Pods by state.\n# TYPE skiff_pods gauge\nskiff_pods{state="ready"} 1\nskiff_pods{state="notready"} 0\n');
    n = 7;
    expect(renderMetrics([g])).to.contain('skiff_pods{state="ready"} 7\n');
  });

  it('escapes label values and help text', function () {
    const c = new CollectedMetric('x_total', 'a \\ b\nc', 'counter', () => [{ labels: { v: 'q"\\\n' }, value: 1.5 }]);
    expect(renderMetrics([c])).to.equal('# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\nx_total{v="q\\"\\\\\\n"} 1.5\n');
  });

  it('keeps histogram buckets cumulative with +Inf, sum and count per label set', function () {
    const h = new Histogram('rpc_seconds', 'Latency.', ['method', 'code'], [0.01, 0.1, 1]);
    h.observe(['Version', 'OK'], 0.005);
    h.observe(['Version', 'OK'], 0.05);
    h.observe(['Version', 'OK'], 5);
    h.observe(['Status', 'UNAVAILABLE'], 0.1);
    expect(renderMetrics([h]).split('\n')).to.deep.equal([
      '# HELP rpc_seconds Latency.',
      '# TYPE rpc_seconds histogram',
      'rpc_seconds_bucket{method="Version",code="OK",le="0.01"} 1',
      'rpc_seconds_bucket{method="Version",code="OK",le="0.1"} 2',
      'rpc_seconds_bucket{method="Version",code="OK",le="1"} 2',
      'rpc_seconds_bucket{method="Version",code="OK",le="+Inf"} 3',
      'rpc_seconds_sum{method="Version",code="OK"} 5.055',
      'rpc_seconds_count{method="Version",code="OK"} 3',
      // A value equal to a bound falls in that bucket (le is "less or equal").
      'rpc_seconds_bucket{method="Status",code="UNAVAILABLE",le="0.01"} 0',
      'rpc_seconds_bucket{method="Status",code="UNAVAILABLE",le="0.1"} 1',
      'rpc_seconds_bucket{method="Status",code="UNAVAILABLE",le="1"} 1',
      'rpc_seconds_bucket{method="Status",code="UNAVAILABLE",le="+Inf"} 1',
      'rpc_seconds_sum{method="Status",code="UNAVAILABLE"} 0.1',
      'rpc_seconds_count{method="Status",code="UNAVAILABLE"} 1',
      '',
    ]);
  });

  it('refuses bad names, label counts and bucket orders', function () {
    expect(() => new Histogram('bad-name', 'x', [], [1])).to.throw(/metric name/);
    expect(() => new Histogram('h', 'x', ['le'], [1])).to.throw(/le/);
    expect(() => new Histogram('h', 'x', [], [1, 1])).to.throw(/ascend/);
    expect(() => new Histogram('h', 'x', ['a'], [1]).observe([], 1)).to.throw(/label values/);
    expect(() => renderMetrics([new CollectedMetric('g', 'x', 'gauge', () => [{ labels: { 'a-b': '1' }, value: 1 }])])).to.throw(/label name/);
  });

  it('formats special values as Prometheus reads them', function () {
    expect([Infinity, -Infinity, NaN, 0.25, 1e21].map(formatValue)).to.deep.equal(['+Inf', '-Inf', 'NaN', '0.25', '1e+21']);
  });
});
