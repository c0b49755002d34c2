// cAdvisor-style metrics between the core and the CRI metric messages.
import {
  MetricType,
  type Metric,
  type MetricDescriptor,
  type PodSandboxMetrics,
} from '../../generated/runtime/v1/api.js';
import type { MetricDef } from '../../core/stats/metric-descriptors.js';
import type { MetricSample, PodMetrics } from '../../core/stats/pod-metrics.js';

export function toMetricDescriptor(d: MetricDef): MetricDescriptor {
  return { name: d.name, help: d.help, labelKeys: [...d.labelKeys] };
}

function toMetric(s: MetricSample): Metric {
  return {
    name: s.name,
    timestamp: s.timestampNs,
    metricType: s.kind === 'counter' ? MetricType.COUNTER : MetricType.GAUGE,
    labelValues: [...s.labelValues],
    value: { value: s.value },
  };
}

export function toPodSandboxMetrics(p: PodMetrics): PodSandboxMetrics {
  return {
    podSandboxId: p.podSandboxId,
    metrics: p.metrics.map(toMetric),
    containerMetrics: p.containerMetrics.map((c) => ({ containerId: c.containerId, metrics: c.metrics.map(toMetric) })),
  };
}
