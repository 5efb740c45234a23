import Metrics

/// What the lake does, for `GET /metrics` (the backend is chosen at startup; without one
/// these cost nothing). Request counts and latencies come from the HTTP layer.
enum CatalogMetrics {
    static let objectsStaged = Counter(label: "tarn_objects_staged_total")
    static let bytesStaged = Counter(label: "tarn_bytes_staged_total")
    static let commits = Counter(label: "tarn_commits_total")
    static let merges = Counter(label: "tarn_merges_total")
    static let activeUploads = Meter(label: "tarn_active_uploads")
}
