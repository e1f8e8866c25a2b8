import Foundation
import Logging
import PostgresNIO

/// A queue in PostgreSQL, for several servers or workers sharing one queue (`--queue postgres://…`). Claims use
/// `FOR UPDATE SKIP LOCKED`, so workers never block on each other; times come from the database clock, so hosts
/// need not agree on theirs.
public final class PostgresJobQueue: JobQueue {
    public let maxAttempts: Int
    let client: PostgresClient
    let runner: Task<Void, Never>
    let logger: Logger

    static let columns = """
        id, idempotency_key, state, parameters, created_at, started_at, finished_at, attempts, lease_owner,
        lease_expires_at, completed_segments, total_segments, audio_seconds, output_path, result, error, cancel_requested
        """
    static let now = "EXTRACT(EPOCH FROM clock_timestamp())::float8"

    init(client: PostgresClient, runner: Task<Void, Never>, maxAttempts: Int, logger: Logger) {
        self.client = client
        self.runner = runner
        self.maxAttempts = maxAttempts
        self.logger = logger
    }

    deinit { runner.cancel() }

    /// Connects to `postgres://user:password@host:port/database` (TLS is not used: `sslmode=disable` or none) and
    /// creates the table if needed.
    public static func connect(url: String, maxAttempts: Int = 3, logger: Logger) async throws -> PostgresJobQueue {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw JobQueueError.invalidURL(url)
        }
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value, mode != "disable" {
            throw JobQueueError.invalidURL(url + " (only sslmode=disable is supported; put TLS in front with a proxy)")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: database.isEmpty ? nil : database, tls: .disable)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runner = Task { await client.run() }
        let queue = PostgresJobQueue(client: client, runner: runner, maxAttempts: maxAttempts, logger: logger)
        do {
            try await client.withTransaction(logger: logger) { connection in
                // Two servers starting together must not race on CREATE TABLE.
                try await connection.query("SELECT pg_advisory_xact_lock(7460001)", logger: logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS indextts_jobs (
                        seq BIGSERIAL PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        idempotency_key TEXT UNIQUE,
                        state TEXT NOT NULL,
                        parameters TEXT NOT NULL,
                        created_at DOUBLE PRECISION NOT NULL,
                        started_at DOUBLE PRECISION,
                        finished_at DOUBLE PRECISION,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        lease_owner TEXT,
                        lease_expires_at DOUBLE PRECISION,
                        completed_segments INTEGER NOT NULL DEFAULT 0,
                        total_segments INTEGER NOT NULL DEFAULT 0,
                        audio_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
                        output_path TEXT,
                        result TEXT,
                        error TEXT,
                        cancel_requested BOOLEAN NOT NULL DEFAULT FALSE
                    )
                    """, logger: logger)
                try await connection.query(
                    "CREATE INDEX IF NOT EXISTS indextts_jobs_by_state ON indextts_jobs (state, seq)", logger: logger)
            }
        } catch {
            runner.cancel()
            throw JobQueueError.storage("cannot prepare the queue at \(host): \(String(reflecting: error))")
        }
        return queue
    }

    @discardableResult
    func storage<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let e as JobQueueError { throw e } catch {
            throw JobQueueError.storage("PostgreSQL: \(String(reflecting: error))")
        }
    }

    func records(_ rows: PostgresRowSequence) async throws -> [JobRecord] {
        var out: [JobRecord] = []
        for try await row in rows { out.append(try Self.record(row.makeRandomAccess())) }
        return out
    }

    public func submit(_ jobs: [(parameters: SpeechParameters, idempotencyKey: String?)]) async throws -> [JobRecord] {
        let encoded = try jobs.map { (String(decoding: try JobCoding.encoder.encode($0.parameters), as: UTF8.self), $0.idempotencyKey) }
        return try await storage {
            try await client.withTransaction(logger: logger) { connection in
                var out: [JobRecord] = []
                for (parameters, key) in encoded {
                    let id = JobCoding.newID()
                    let inserted = try await connection.query("""
                        INSERT INTO indextts_jobs (id, idempotency_key, state, parameters, created_at)
                        VALUES (\(id), \(key), 'queued', \(parameters), \(unescaped: Self.now))
                        ON CONFLICT (idempotency_key) DO NOTHING RETURNING \(unescaped: Self.columns)
                        """, logger: logger)
                    var found = try await records(inserted)
                    if found.isEmpty, let key {
                        found = try await records(try await connection.query(
                            "SELECT \(unescaped: Self.columns) FROM indextts_jobs WHERE idempotency_key = \(key)", logger: logger))
                    }
                    guard let job = found.first else { throw JobQueueError.storage("insert of \(id) returned nothing") }
                    out.append(job)
                }
                return out
            }
        }
    }

    public func job(id: String) async throws -> JobRecord {
        try await storage {
            guard let job = try await records(try await client.query(
                "SELECT \(unescaped: Self.columns) FROM indextts_jobs WHERE id = \(id)", logger: logger)).first else {
                throw JobQueueError.notFound(id)
            }
            return job
        }
    }

    public func job(idempotencyKey: String) async throws -> JobRecord? {
        try await storage {
            try await records(try await client.query(
                "SELECT \(unescaped: Self.columns) FROM indextts_jobs WHERE idempotency_key = \(idempotencyKey)", logger: logger)).first
        }
    }

    public func list(state: JobState?, limit: Int, offset: Int) async throws -> (jobs: [JobRecord], total: Int) {
        try await storage {
            let s = state?.rawValue
            let jobs = try await records(try await client.query("""
                SELECT \(unescaped: Self.columns) FROM indextts_jobs WHERE (\(s)::text IS NULL OR state = \(s))
                ORDER BY seq DESC LIMIT \(limit) OFFSET \(offset)
                """, logger: logger))
            var total = 0
            for try await n in try await client.query(
                "SELECT COUNT(*)::bigint FROM indextts_jobs WHERE (\(s)::text IS NULL OR state = \(s))", logger: logger).decode(Int64.self) {
                total = Int(n)
            }
            return (jobs, total)
        }
    }

    public func cancel(id: String) async throws -> JobRecord {
        try await storage {
            try await client.query("""
                UPDATE indextts_jobs SET state = 'cancelled', finished_at = \(unescaped: Self.now) WHERE id = \(id) AND state = 'queued'
                """, logger: logger)
            try await client.query(
                "UPDATE indextts_jobs SET cancel_requested = TRUE WHERE id = \(id) AND state = 'running'", logger: logger)
            return try await job(id: id)
        }
    }

    public func counts() async throws -> QueueCounts {
        try await storage {
            var counts: [JobState: Int] = [:]
            for try await (state, n) in try await client.query(
                "SELECT state, COUNT(*)::bigint FROM indextts_jobs GROUP BY state", logger: logger).decode((String, Int64).self) {
                if let s = JobState(rawValue: state) { counts[s] = Int(n) }
            }
            return QueueCounts(counts: counts)
        }
    }

    public func claim(worker: String, leaseSeconds: Double) async throws -> JobRecord? {
        try await storage {
            // Jobs whose worker vanished: cancelled if cancellation was asked, failed once attempts are used up.
            try await client.query("""
                UPDATE indextts_jobs SET state = 'cancelled', finished_at = \(unescaped: Self.now), lease_owner = NULL
                WHERE state = 'running' AND lease_expires_at < \(unescaped: Self.now) AND cancel_requested
                """, logger: logger)
            try await client.query("""
                UPDATE indextts_jobs SET state = 'failed', finished_at = \(unescaped: Self.now), lease_owner = NULL,
                error = 'abandoned: its worker stopped responding ' || attempts || ' times'
                WHERE state = 'running' AND lease_expires_at < \(unescaped: Self.now) AND attempts >= \(maxAttempts)
                """, logger: logger)
            return try await records(try await client.query("""
                UPDATE indextts_jobs SET state = 'running', lease_owner = \(worker),
                lease_expires_at = \(unescaped: Self.now) + \(leaseSeconds), attempts = attempts + 1,
                started_at = COALESCE(started_at, \(unescaped: Self.now))
                WHERE id = (SELECT id FROM indextts_jobs
                            WHERE state = 'queued' OR (state = 'running' AND lease_expires_at < \(unescaped: Self.now))
                            ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)).first
        }
    }

    public func heartbeat(id: String, worker: String, leaseSeconds: Double, completedSegments: Int, totalSegments: Int,
                          audioSeconds: Double) async throws -> LeaseStatus {
        try await storage {
            var status = LeaseStatus.lost
            for try await cancel in try await client.query("""
                UPDATE indextts_jobs SET lease_expires_at = \(unescaped: Self.now) + \(leaseSeconds),
                completed_segments = \(completedSegments), total_segments = \(totalSegments), audio_seconds = \(audioSeconds)
                WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker) RETURNING cancel_requested
                """, logger: logger).decode(Bool.self) {
                status = cancel ? .cancelRequested : .held
            }
            return status
        }
    }

    public func complete(id: String, worker: String, outputPath: String, result: JobResult) async throws -> Bool {
        let encoded = String(decoding: try JobCoding.encoder.encode(result), as: UTF8.self)
        return try await storage {
            var updated = false
            for try await _ in try await client.query("""
                UPDATE indextts_jobs SET state = 'succeeded', finished_at = \(unescaped: Self.now), output_path = \(outputPath),
                result = \(encoded), lease_owner = NULL, lease_expires_at = NULL, completed_segments = \(result.segments),
                total_segments = \(result.segments),
                audio_seconds = \(result.audioSeconds), error = NULL
                WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker) RETURNING id
                """, logger: logger).decode(String.self) {
                updated = true
            }
            return updated
        }
    }

    public func fail(id: String, worker: String, error: String, retry: Bool) async throws {
        try await storage {
            try await client.query("""
                UPDATE indextts_jobs SET
                state = CASE WHEN \(retry) AND attempts < \(maxAttempts) THEN 'queued' ELSE 'failed' END,
                finished_at = CASE WHEN \(retry) AND attempts < \(maxAttempts) THEN NULL ELSE \(unescaped: Self.now) END,
                lease_owner = NULL, lease_expires_at = NULL, error = \(error)
                WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker)
                """, logger: logger)
        }
    }

    public func finishCancelled(id: String, worker: String) async throws {
        try await storage {
            try await client.query("""
                UPDATE indextts_jobs SET state = 'cancelled', finished_at = \(unescaped: Self.now), lease_owner = NULL,
                lease_expires_at = NULL WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker)
                """, logger: logger)
        }
    }

    public func release(id: String, worker: String) async throws {
        try await storage {
            try await client.query("""
                UPDATE indextts_jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                attempts = GREATEST(attempts - 1, 0) WHERE id = \(id) AND state = 'running' AND lease_owner = \(worker)
                """, logger: logger)
        }
    }

    /// Drops every job (tests).
    public func removeAll() async throws {
        try await storage { _ = try await client.query("DELETE FROM indextts_jobs", logger: logger) }
    }

    static func record(_ row: PostgresRandomAccessRow) throws -> JobRecord {
        func date(_ column: String) throws -> Date? { try row[column].decode(Double?.self).map(Date.init(timeIntervalSince1970:)) }
        let parameters = try row["parameters"].decode(String.self)
        let result = try row["result"].decode(String?.self)
        return JobCoding.presented(JobRecord(
            id: try row["id"].decode(String.self), state: JobState(rawValue: try row["state"].decode(String.self)) ?? .failed,
            parameters: try JobCoding.decoder.decode(SpeechParameters.self, from: Data(parameters.utf8)),
            idempotencyKey: try row["idempotency_key"].decode(String?.self),
            createdAt: try date("created_at") ?? Date(timeIntervalSince1970: 0),
            startedAt: try date("started_at"), finishedAt: try date("finished_at"),
            attempts: Int(try row["attempts"].decode(Int32.self)), leaseOwner: try row["lease_owner"].decode(String?.self),
            leaseExpiresAt: try date("lease_expires_at"),
            completedSegments: Int(try row["completed_segments"].decode(Int32.self)),
            totalSegments: Int(try row["total_segments"].decode(Int32.self)),
            audioSeconds: try row["audio_seconds"].decode(Double.self), outputPath: try row["output_path"].decode(String?.self),
            result: try result.map { try JobCoding.decoder.decode(JobResult.self, from: Data($0.utf8)) },
            error: try row["error"].decode(String?.self), cancelRequested: try row["cancel_requested"].decode(Bool.self)))
    }
}
