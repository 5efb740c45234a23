import NIOCore

/// A small read of bytes kept in S3, made ready on the caller's thread and sent without a
/// task: the event loop that answers a small GET starts it and is called back with the
/// bytes. One attempt only — on any failure the caller gets nil and takes the path that
/// retries and reports the backend's error.
public struct RemoteRead: Sendable {
    let client: S3Client
    let request: S3Client.Request
    /// The bytes the read must bring; another count is a failure.
    let length: Int

    /// Sends the read from `loop`, the caller's event loop; `complete` is called once, on
    /// `loop` and never before this returns, with the bytes or nil.
    public func start(on loop: any EventLoop, _ complete: @escaping (ByteBuffer?) -> Void) {
        client.read(request, length: length, on: loop, complete: complete)
    }
}
