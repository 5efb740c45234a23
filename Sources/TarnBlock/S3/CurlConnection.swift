import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// A backend connection made by curl alone (`CURLOPT_CONNECT_ONLY`): name lookup, TCP and TLS,
/// with curl's timeouts and proxy settings, for the requests Tarn writes itself (`CurlDownload`,
/// `KeptConnections`). Blocking: run it on a Dispatch thread.
enum CurlConnection {
    /// A handle whose connection to `url`'s origin is made, or nil (nothing is left open).
    /// `receiveBuffer` bounds each `curl_easy_recv` (curl's default is 16 KiB).
    static func open(_ url: String, timeout: Double, receiveBuffer: Int? = nil) -> UnsafeMutableRawPointer? {
        guard let h = curl_easy_init() else { return nil }
        tarn_curl_setopt_str(h, CURLOPT_URL, url)
        tarn_curl_setopt_long(h, CURLOPT_CONNECT_ONLY, 1)
        // Through an HTTP proxy the connection must reach the origin itself, not the proxy.
        tarn_curl_setopt_long(h, CURLOPT_HTTPPROXYTUNNEL, 1)
        tarn_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        tarn_curl_setopt_long(h, CURLOPT_TCP_NODELAY, 1)
        tarn_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(timeout * 1000))
        if let receiveBuffer { tarn_curl_setopt_long(h, CURLOPT_BUFFERSIZE, receiveBuffer) }
        guard curl_easy_perform(h) == CURLE_OK, tarn_curl_active_socket(h) >= 0 else {
            curl_easy_cleanup(h)
            return nil
        }
        return h
    }

    /// The plain (not TLS) connection of `open(url)` as a socket of the caller's, or -1: a
    /// copy of curl's descriptor, which outlives the handle.
    static func socket(_ url: String, timeout: Double) -> Int32 {
        guard let h = open(url, timeout: timeout) else { return -1 }
        let fd = dup(tarn_curl_active_socket(h))
        curl_easy_cleanup(h)
        return fd
    }
}
