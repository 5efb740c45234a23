import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A descriptor of a client's connection that NIO owns, for a relay that writes to it beside
/// NIO (`RemoteRelay`). NIO does not give its sockets' descriptors out; the one whose two ends
/// are the channel's addresses is found among the process's open descriptors and duplicated,
/// so the connection lives until the relay closes its copy, whatever NIO does meanwhile. A
/// connected TCP socket is the only one with its pair of addresses, so no other can match.
enum ClientSocket {
    /// A copy of the descriptor connected from `remote` to `local`, or nil (on a system
    /// without `/proc/self/fd`, or when the connection closed).
    static func duplicate(local: SocketAddress, remote: SocketAddress) -> Int32? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard let fd = Int32(name), connects(fd, local, remote) else { continue }
            let copy = dup(fd)
            // The descriptor may have been closed and reused between the check and the copy.
            if copy >= 0, connects(copy, local, remote) { return copy }
            if copy >= 0 { close(copy) }
            return nil
        }
        return nil
    }

    private static func connects(_ fd: Int32, _ local: SocketAddress, _ remote: SocketAddress) -> Bool {
        same(remote, fd, getpeername) && same(local, fd, getsockname)
    }

    /// Whether `read` (getpeername or getsockname) of `fd` gives `address`: family, port and
    /// IP address compared (not the padding).
    private static func same(_ address: SocketAddress, _ fd: Int32,
                             _ read: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> Bool {
        var storage = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { read(fd, $0, &size) }
        }
        guard got == 0 else { return false }
        return withUnsafeBytes(of: &storage) { found in
            address.withSockAddr { expected, _ in
                guard Int(found.load(as: sockaddr.self).sa_family) == Int(expected.pointee.sa_family) else { return false }
                switch Int32(expected.pointee.sa_family) {
                case AF_INET:
                    let a = found.load(as: sockaddr_in.self)
                    let b = UnsafeRawPointer(expected).load(as: sockaddr_in.self)
                    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr
                case AF_INET6:
                    let a = found.load(as: sockaddr_in6.self)
                    let b = UnsafeRawPointer(expected).load(as: sockaddr_in6.self)
                    return a.sin6_port == b.sin6_port && withUnsafeBytes(of: a.sin6_addr) { x in withUnsafeBytes(of: b.sin6_addr) { x.elementsEqual($0) } }
                default:
                    return false
                }
            }
        }
    }
}
