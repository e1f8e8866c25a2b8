import Hummingbird
import IndexTTS
import IndexTTSJobs
import NIOCore
import Synchronization

/// The request context of the server's routes: Hummingbird's basic context plus the request's connection, so that a
/// synthesis can notice a client that goes away (``ClientWatch``).
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on (nil where a test framework gives none).
    public let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Notices that the client of a request has closed its connection, while the request's synthesis runs.
///
/// The server allows half-closure, so a client that goes away shows up as `inputClosed` on its connection (and later
/// as the channel going inactive); nothing reads the connection while a handler runs, and a response that is still
/// being computed writes nothing that could fail. The watch is a pass-through handler put at the front of the
/// connection's pipeline for the duration of one synthesis; it sets ``gone`` on either event, and the synthesis reads
/// it through ``SynthesisRequest/isCancelled`` (IndexTTS2 stops within one GPT step, the default voice before its
/// next segment). Keep-alive is untouched: the handler forwards every event and is removed afterwards.
final class ClientWatch: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    /// Set once the client has closed its side of the connection (or the connection is gone).
    let gone = AtomicFlag()
    private let reported = Mutex(false)
    private let channel: (any Channel)?
    private let onGone: @Sendable () -> Void

    private init(channel: (any Channel)?, onGone: @escaping @Sendable () -> Void) {
        self.channel = channel
        self.onGone = onGone
    }

    /// Starts watching the request's connection (a watch that never fires where there is none).
    static func start(_ context: ServerRequestContext, onGone: @escaping @Sendable () -> Void = {}) async -> ClientWatch {
        let watch = ClientWatch(channel: context.channel, onGone: onGone)
        guard let channel = context.channel else { return watch }
        do {
            try await channel.pipeline.addHandler(watch, position: .first).get()
        } catch {
            watch.markGone()  // the channel is closed already
        }
        if !channel.isActive { watch.markGone() }
        return watch
    }

    /// Stops watching (idempotent; a closed connection has dropped the handler already). A connection that closes
    /// afterwards is not reported: the server closes it itself when a streamed synthesis fails after its headers.
    func stop() {
        reported.withLock { $0 = true }
        guard let channel else { return }
        channel.pipeline.removeHandler(self).whenComplete { _ in }
    }

    /// The request's cancellation check, with this watch added to it.
    func cancelling(_ request: SynthesisRequest) -> SynthesisRequest {
        var request = request
        let previous = request.isCancelled, gone = self.gone
        request.isCancelled = { gone.isSet || previous?() == true }
        return request
    }

    private func markGone() {
        gone.set()
        let first = reported.withLock { done in
            defer { done = true }
            return !done
        }
        if first { onGone() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { markGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markGone()
        context.fireChannelInactive()
    }
}
