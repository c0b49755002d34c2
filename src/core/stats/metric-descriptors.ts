// The metrics ListPodSandboxMetrics emits, described once for ListMetricDescriptors. Kubelet
// (pkg/kubelet/metrics/collectors/cri_metrics.go) reads the descriptors once at start-up and
// serves every sample whose name it knows at /metrics/cadvisor, as float64(value) with the
// descriptor's label keys; a sample with an unknown name or a wrong label count is dropped.
//
// Names, label keys and meanings are cAdvisor's, so dashboards and alerts written against
// kubelet's cAdvisor endpoint keep working. Labels follow containerd's CRI metrics:
//   pod, namespace   the pod's metadata;
//   container        the container's name, "" for the pod's own cgroup (cAdvisor's convention);
//   id               the container id, or the pod sandbox id for pod-level samples;
//   image            the image as the CRI request named it, "" at pod level.
// CRI carries values as uint64, so "seconds" counters are whole seconds (truncated), as in
// containerd and CRI-O; the byte and count metrics are exact.
//
// Left out, with the reason: container_file_descriptors and container_sockets (a walk of
// /proc/<pid>/fd per process per scrape), container_ulimits_soft (not kept past create),
// container_hugetlb_* (no hugetlb stats read yet), per-cpu usage (one "total" series, as cAdvisor
// with percpu disabled).

export type MetricKind = 'counter' | 'gauge';

export interface MetricDef {
  readonly name: string;
  readonly help: string;
  readonly kind: MetricKind;
  /** Label names, in the order of every sample's label values. */
  readonly labelKeys: readonly string[];
}

export const BASE_LABELS = ['pod', 'namespace', 'container', 'id', 'image'] as const;

const def = (name: string, kind: MetricKind, help: string, extra: readonly string[] = []): MetricDef =>
  Object.freeze({ name, help, kind, labelKeys: Object.freeze([...BASE_LABELS, ...extra]) });

export const M = {
  cpuUsage: def('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed, in whole seconds.', ['cpu']),
  cpuUser: def('container_cpu_user_seconds_total', 'counter', 'Cumulative user cpu time consumed, in whole seconds.'),
  cpuSystem: def('container_cpu_system_seconds_total', 'counter', 'Cumulative system cpu time consumed, in whole seconds.'),
  cfsPeriods: def('container_cpu_cfs_periods_total', 'counter', 'Number of elapsed enforcement period intervals.'),
  cfsThrottledPeriods: def('container_cpu_cfs_throttled_periods_total', 'counter', 'Number of throttled period intervals.'),
  cfsThrottledSeconds: def('container_cpu_cfs_throttled_seconds_total', 'counter', 'Total time duration the container has been throttled, in whole seconds.'),

  memUsage: def('container_memory_usage_bytes', 'gauge', 'Current memory usage in bytes, including all memory regardless of when it was accessed.'),
  memWorkingSet: def('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes (usage minus inactive file pages).'),
  memRss: def('container_memory_rss', 'gauge', 'Size of RSS in bytes.'),
  memCache: def('container_memory_cache', 'gauge', 'Number of bytes of page cache memory.'),
  memMappedFile: def('container_memory_mapped_file', 'gauge', 'Size of memory mapped files in bytes.'),
  memKernel: def('container_memory_kernel_usage', 'gauge', 'Size of kernel memory allocated in bytes.'),
  memSwap: def('container_memory_swap', 'gauge', 'Container swap usage in bytes.'),
  memMaxUsage: def('container_memory_max_usage_bytes', 'gauge', 'Maximum memory usage recorded in bytes.'),
  memActiveFile: def('container_memory_total_active_file_bytes', 'gauge', 'Current total active file in bytes.'),
  memInactiveFile: def('container_memory_total_inactive_file_bytes', 'gauge', 'Current total inactive file in bytes.'),
  memFailcnt: def('container_memory_failcnt', 'counter', 'Number of memory usage hits limits.'),
  memFailures: def('container_memory_failures_total', 'counter', 'Cumulative count of memory allocation failures.', ['failure_type', 'scope']),
  oomEvents: def('container_oom_events_total', 'counter', 'Count of out of memory events observed for the container.'),

  processes: def('container_processes', 'gauge', 'Number of processes running inside the container.'),
  threads: def('container_threads', 'gauge', 'Number of threads running inside the container.'),
  threadsMax: def('container_threads_max', 'gauge', 'Maximum number of threads allowed inside the container, infinity if value is zero.'),

  netRxBytes: def('container_network_receive_bytes_total', 'counter', 'Cumulative count of bytes received.', ['interface']),
  netRxPackets: def('container_network_receive_packets_total', 'counter', 'Cumulative count of packets received.', ['interface']),
  netRxDropped: def('container_network_receive_packets_dropped_total', 'counter', 'Cumulative count of packets dropped while receiving.', ['interface']),
  netRxErrors: def('container_network_receive_errors_total', 'counter', 'Cumulative count of errors encountered while receiving.', ['interface']),
  netTxBytes: def('container_network_transmit_bytes_total', 'counter', 'Cumulative count of bytes transmitted.', ['interface']),
  netTxPackets: def('container_network_transmit_packets_total', 'counter', 'Cumulative count of packets transmitted.', ['interface']),
  netTxDropped: def('container_network_transmit_packets_dropped_total', 'counter', 'Cumulative count of packets dropped while transmitting.', ['interface']),
  netTxErrors: def('container_network_transmit_errors_total', 'counter', 'Cumulative count of errors encountered while transmitting.', ['interface']),

  fsUsage: def('container_fs_usage_bytes', 'gauge', "Number of bytes consumed by the container's writable layer on this filesystem.", ['device']),
  fsLimit: def('container_fs_limit_bytes', 'gauge', 'Number of bytes the filesystem holding the writable layers can hold.', ['device']),
  fsInodesTotal: def('container_fs_inodes_total', 'gauge', 'Number of inodes of the filesystem holding the writable layers.', ['device']),
  fsInodesFree: def('container_fs_inodes_free', 'gauge', 'Number of free inodes of the filesystem holding the writable layers.', ['device']),
  fsReadsBytes: def('container_fs_reads_bytes_total', 'counter', 'Cumulative count of bytes read.', ['device']),
  fsWritesBytes: def('container_fs_writes_bytes_total', 'counter', 'Cumulative count of bytes written.', ['device']),
  fsReads: def('container_fs_reads_total', 'counter', 'Cumulative count of reads completed.', ['device']),
  fsWrites: def('container_fs_writes_total', 'counter', 'Cumulative count of writes completed.', ['device']),
  blkioDeviceUsage: def('container_blkio_device_usage_total', 'counter', 'Blkio device bytes usage.', ['device', 'major', 'minor', 'operation']),

  specCpuShares: def('container_spec_cpu_shares', 'gauge', 'CPU share of the container.'),
  specCpuQuota: def('container_spec_cpu_quota', 'gauge', 'CPU quota of the container, in microseconds per period.'),
  specCpuPeriod: def('container_spec_cpu_period', 'gauge', 'CPU period of the container, in microseconds.'),
  specMemLimit: def('container_spec_memory_limit_bytes', 'gauge', 'Memory limit for the container, 0 when unlimited.'),
  specMemReservation: def('container_spec_memory_reservation_limit_bytes', 'gauge', 'Memory reservation limit for the container, 0 when unlimited.'),
  specMemSwapLimit: def('container_spec_memory_swap_limit_bytes', 'gauge', 'Memory plus swap limit for the container, 0 when unlimited.'),
  startTime: def('container_start_time_seconds', 'gauge', 'Start time of the container since unix epoch in seconds.'),
  lastSeen: def('container_last_seen', 'gauge', 'Last time a container was seen by the exporter, unix epoch seconds.'),

  cpuStalled: def('container_pressure_cpu_stalled_seconds_total', 'counter', 'Total time no task in the container could make progress for lack of cpu, in whole seconds (cgroup v2).'),
  cpuWaiting: def('container_pressure_cpu_waiting_seconds_total', 'counter', 'Total time tasks in the container waited for cpu, in whole seconds (cgroup v2).'),
  memoryStalled: def('container_pressure_memory_stalled_seconds_total', 'counter', 'Total time no task in the container could make progress for lack of memory, in whole seconds (cgroup v2).'),
  memoryWaiting: def('container_pressure_memory_waiting_seconds_total', 'counter', 'Total time tasks in the container waited for memory, in whole seconds (cgroup v2).'),
  ioStalled: def('container_pressure_io_stalled_seconds_total', 'counter', 'Total time no task in the container could make progress waiting for io, in whole seconds (cgroup v2).'),
  ioWaiting: def('container_pressure_io_waiting_seconds_total', 'counter', 'Total time tasks in the container waited for io, in whole seconds (cgroup v2).'),
} as const satisfies Record<string, MetricDef>;

/** Every descriptor, in a stable order; ListMetricDescriptors answers with these. */
export const METRIC_DESCRIPTORS: readonly MetricDef[] = Object.freeze(Object.values(M));
