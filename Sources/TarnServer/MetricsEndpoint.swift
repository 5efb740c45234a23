import Hummingbird
import Metrics
import Prometheus

/// Prometheus metrics for the whole process: swift-metrics' backend is bootstrapped once, at
/// startup (`bootstrapMetrics`), and `GET /metrics` prints its registry in the text format.
/// Request counts and latency histograms per route, method and status come from
/// Hummingbird's `MetricsMiddleware`; the lake's own counters from `TarnCatalog`.
public enum ServerMetrics {
    /// Makes Prometheus the swift-metrics backend; call once, before anything records.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// `GET /metrics`, unauthenticated as in lakeFS (it sits beside `/api/v1`, not in it).
    static func register<Context: RequestContext>(on router: Router<Context>, registry: PrometheusCollectorRegistry) {
        router.get("metrics") { _, _ in
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
