import Foundation
import HTTPTypes
import Hummingbird
import IndexTTS
import IndexTTSAudio
import IndexTTSJobs
import NIOCore

/// A job as the API shows it: progress, timings and where its audio is; server paths reduced to file names.
struct JobView: Encodable {
    let id: String
    let object = "tts.job"
    let state: String
    let createdAt: Date
    let startedAt: Date?
    let finishedAt: Date?
    let attempts: Int
    let progress: Progress
    let text: String
    let parameters: SpeechParameters
    let result: JobResult?
    let error: String?
    let audioURL: String?
    let outputFile: String?
    let cancelRequested: Bool
    let idempotencyKey: String?
    /// The worker holding the job while it runs.
    let worker: String?

    struct Progress: Encodable {
        let completedSegments: Int
        let totalSegments: Int
        let fraction: Double
        let audioSeconds: Double
        enum CodingKeys: String, CodingKey {
            case completedSegments = "completed_segments"
            case totalSegments = "total_segments"
            case fraction
            case audioSeconds = "audio_seconds"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, object, state, attempts, progress, text, parameters, result, error
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case audioURL = "audio_url"
        case outputFile = "output_file"
        case cancelRequested = "cancel_requested"
        case idempotencyKey = "idempotency_key"
        case worker
    }

    init(_ job: JobRecord) {
        id = job.id
        state = job.state.rawValue
        createdAt = job.createdAt
        startedAt = job.startedAt
        finishedAt = job.finishedAt
        attempts = job.attempts
        let fraction = job.state == .succeeded ? 1 : (job.totalSegments > 0 ? Double(job.completedSegments) / Double(job.totalSegments) : 0)
        progress = Progress(completedSegments: job.completedSegments, totalSegments: job.totalSegments, fraction: fraction,
                            audioSeconds: job.audioSeconds)
        text = job.parameters.text
        var p = job.parameters
        p.referenceAudioPath = p.referenceAudioPath.map { _ in "uploaded" }
        p.emotionAudioPath = p.emotionAudioPath.map { _ in "uploaded" }
        parameters = p
        result = job.result
        error = job.error
        audioURL = job.state == .succeeded ? "/v1/jobs/\(job.id)/audio" : nil
        outputFile = job.outputPath.map { ($0 as NSString).lastPathComponent }
        cancelRequested = job.cancelRequested
        idempotencyKey = job.idempotencyKey
        worker = job.state == .running ? job.leaseOwner : nil
    }
}

extension SpeechServer {
    func addJobRoutes(_ router: Router<ServerRequestContext>) {
        router.post("/v1/jobs") { request, _ -> Response in
            let key = request.headers[HTTPField.Name("Idempotency-Key")!]
            let parsed = try await self.parseNativeSpeech(request, allowList: true, direct: false)
            let items = parsed.parameters().enumerated().map { i, p in
                (parameters: p, idempotencyKey: key.map { parsed.texts.count > 1 ? "\($0)#\(i)" : $0 })
            }
            let jobs: [JobRecord]
            do { jobs = try await self.queue.submit(items) } catch {
                self.removeUploads(parsed.uploads)
                throw error
            }
            if !parsed.isList {
                return try Self.json(JobView(jobs[0]), status: .accepted)
            }
            struct List: Encodable { let object = "list"; let data: [JobView] }
            return try Self.json(List(data: jobs.map(JobView.init)), status: .accepted)
        }

        router.get("/v1/jobs") { request, _ -> Response in
            let q = request.uri.queryParameters
            let limit = try Self.intParameter(q.get("limit"), name: "limit", range: 1...500) ?? 50
            let offset = try Self.intParameter(q.get("offset"), name: "offset", range: 0...Int.max) ?? 0
            var state: JobState?
            if let s = q.get("state") {
                guard let parsed = JobState(rawValue: s) else {
                    throw APIError.invalid("state", "one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                state = parsed
            }
            let page = try await self.queue.list(state: state, limit: limit, offset: offset)
            struct Page: Encodable {
                let object = "list"
                let data: [JobView]
                let total: Int, limit: Int, offset: Int
                let hasMore: Bool
                enum CodingKeys: String, CodingKey { case object, data, total, limit, offset, hasMore = "has_more" }
            }
            return try Self.json(Page(data: page.jobs.map(JobView.init), total: page.total, limit: limit, offset: offset,
                                      hasMore: offset + page.jobs.count < page.total))
        }

        router.get("/v1/jobs/:id") { _, context -> Response in
            try Self.json(JobView(try await self.queue.job(id: try Self.jobID(context))))
        }

        router.delete("/v1/jobs/:id") { _, context -> Response in
            let job = try await self.queue.cancel(id: try Self.jobID(context))
            if job.state == .cancelled { self.removeUploads([job.parameters.referenceAudioPath, job.parameters.emotionAudioPath].compactMap { $0 }) }
            return try Self.json(JobView(job))
        }

        router.get("/v1/jobs/:id/audio") { _, context -> Response in
            let job = try await self.queue.job(id: try Self.jobID(context))
            guard job.state == .succeeded, let path = job.outputPath else {
                throw APIError(.conflict, "job \(job.id) is \(job.state.rawValue); its audio exists once it has succeeded",
                               param: "id", code: "job_not_finished")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw APIError(.gone, "the audio file of job \(job.id) is no longer on disk", code: "audio_missing")
            }
            let format = AudioFormat(fileExtension: (path as NSString).pathExtension) ?? .wav
            var headers = HTTPFields()
            headers[.contentType] = format.mimeType
            headers[.contentDisposition] = "attachment; filename=\"\((path as NSString).lastPathComponent)\""
            if let r = job.result {
                headers[HTTPField.Name("X-IndexTTS-RTF")!] = String(format: "%.4f", r.realTimeFactor)
                headers[HTTPField.Name("X-IndexTTS-Audio-Seconds")!] = String(format: "%.4f", r.audioSeconds)
                headers[HTTPField.Name("X-IndexTTS-Controls")!] = Self.controlsHeader(r.controls)
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    static func jobID(_ context: ServerRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), id.count <= 64,
              id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw APIError(.notFound, "no such job", param: "id", code: "job_not_found")
        }
        return id
    }

    static func intParameter(_ value: String?, name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let value else { return nil }
        guard let n = Int(value), range.contains(n) else {
            throw APIError.invalid(name, "expected an integer in \(range.lowerBound)…\(range.upperBound == Int.max ? "" : String(range.upperBound)), got '\(value)'")
        }
        return n
    }
}
