import Foundation
import Hummingbird
import IndexTTS
import IndexTTSJobs
import NIOCore

extension SpeechServer {
    func addOperationRoutes(_ router: Router<ServerRequestContext>) {
        router.get("/healthz") { _, _ -> Response in
            struct Health: Encodable {
                let status: String
                let engine: EngineInfo
                let engineSelection: EngineSelection?
                let queue: [String: Int]?
                let queueError: String?
                let syntheses: [String: Int]
                let worker: String?
                enum CodingKeys: String, CodingKey { case status, engine, queue, syntheses, worker, queueError = "queue_error", engineSelection = "engine_selection" }
            }
            let load = self.pool.load
            let syntheses = ["running": load.running, "waiting": load.waiting, "capacity": self.pool.width]
            do {
                let counts = try await self.queue.counts()
                var byState: [String: Int] = [:]
                for s in JobState.allCases { byState[s.rawValue] = counts[s] }
                return try Self.json(Health(status: "ok", engine: self.engine.info, engineSelection: self.configuration.engineSelection,
                                            queue: byState, queueError: nil,
                                            syntheses: syntheses, worker: self.configuration.runWorker ? self.workerID : nil))
            } catch {
                return try Self.json(Health(status: "degraded", engine: self.engine.info, engineSelection: self.configuration.engineSelection,
                                            queue: nil, queueError: "\(error)",
                                            syntheses: syntheses, worker: nil), status: .serviceUnavailable)
            }
        }

        router.get("/metrics") { _, _ -> Response in
            let load = self.pool.load
            self.metrics.running.set(Double(load.running))
            self.metrics.waiting.set(Double(load.waiting))
            if let counts = try? await self.queue.counts() { self.metrics.queue(counts) }
            if let decoding = self.engine.sharedDecoding { self.metrics.sharedDecoding(decoding) }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.registry.emitToBuffer())))
        }

        // OpenAPI/openapi.json, kept in step with the routes (a test checks that every route is documented).
        router.get("/openapi.json") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_json)))
        }
    }
}
