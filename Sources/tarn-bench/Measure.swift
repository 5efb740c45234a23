import Foundation

/// Seconds taken by `body`.
func timed(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let idx = min(sorted.count - 1, max(0, Int((p * Double(sorted.count - 1)).rounded())))
    return sorted[idx]
}

/// A memory figure of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:` for the peak), in MB.
func procStatusMB(pid: String = "self", _ field: String) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return .nan }
    for line in status.split(separator: "\n") where line.hasPrefix(field) {
        return (line.split(separator: " ").compactMap { Double($0) }.first ?? .nan) / 1024
    }
    return .nan
}

/// User and system CPU a process has used so far, in seconds (`/proc/<pid>/stat`).
func cpuSeconds(pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return .nan }
    // Fields after the command's closing parenthesis start at the third, the state.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Peak resident set size of this process since the last `resetPeakRSS`, in MB.
func peakRSSMB() -> Double { procStatusMB("VmHWM:") }

/// Resets the kernel's peak-RSS counter of a process (Linux: writing 5 to clear_refs).
func resetPeakRSSOf(pid: String = "self") {
    try? "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8)
}

/// Figures in the order they were reported, printed as lines and as one JSON object.
struct Report {
    private var figures: [(String, Double, String)] = []

    /// A `# ` comment line, flushed at once so a watcher sees where the run is.
    static func note(_ text: String) {
        print("# " + text)
        fflush(nil)
    }

    mutating func add(_ name: String, _ value: Double, _ unit: String) {
        figures.append((name, value, unit))
        print("\(name) \(format(value)) \(unit)")
        fflush(nil)
    }

    /// A figure reported earlier (for ratios).
    func value(_ name: String) -> Double { figures.first { $0.0 == name }?.1 ?? .nan }

    func json() -> String {
        "{" + figures.map { "\"\($0.0)\": \(format($0.1))" }.joined(separator: ", ") + "}"
    }

    private func format(_ v: Double) -> String {
        if v.isNaN { return "null" }
        if v >= 1000 { return String(format: "%.0f", v) }
        return String(format: "%.4g", v)
    }
}

