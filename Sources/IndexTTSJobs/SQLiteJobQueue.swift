import Foundation
import GRDB

/// The default queue: one SQLite file in the data folder (WAL mode), safe for several worker tasks in one process
/// and for several processes on one machine (writes are serialised by SQLite's lock, with a busy timeout).
public final class SQLiteJobQueue: JobQueue {
    public let path: String
    public let maxAttempts: Int
    let pool: DatabasePool

    public init(path: String, maxAttempts: Int = 3) throws {
        self.path = path
        self.maxAttempts = maxAttempts
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.label = "indextts-jobs"
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw JobQueueError.storage("cannot open \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE jobs (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    idempotency_key TEXT UNIQUE,
                    state TEXT NOT NULL,
                    parameters TEXT NOT NULL,
                    created_at DOUBLE NOT NULL,
                    started_at DOUBLE,
                    finished_at DOUBLE,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    lease_owner TEXT,
                    lease_expires_at DOUBLE,
                    completed_segments INTEGER NOT NULL DEFAULT 0,
                    total_segments INTEGER NOT NULL DEFAULT 0,
                    audio_seconds DOUBLE NOT NULL DEFAULT 0,
                    output_path TEXT,
                    result TEXT,
                    error TEXT,
                    cancel_requested INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX jobs_by_state ON jobs(state, seq);
                """)
        }
        return m
    }

    @discardableResult
    func storage<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let e as JobQueueError { throw e } catch {
            throw JobQueueError.storage("\(path): \(error)")
        }
    }

    public func submit(_ jobs: [(parameters: SpeechParameters, idempotencyKey: String?)]) async throws -> [JobRecord] {
        let encoded = try jobs.map { (String(decoding: try JobCoding.encoder.encode($0.parameters), as: UTF8.self), $0.idempotencyKey) }
        return try await storage {
            try await pool.write { db in
                var out: [JobRecord] = []
                for (parameters, key) in encoded {
                    if let key, let row = try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE idempotency_key = ?", arguments: [key]) {
                        out.append(try Self.record(row))
                        continue
                    }
                    let id = JobCoding.newID()
                    try db.execute(sql: """
                        INSERT INTO jobs (id, idempotency_key, state, parameters, created_at) VALUES (?, ?, 'queued', ?, ?)
                        """, arguments: [id, key, parameters, Date().timeIntervalSince1970])
                    out.append(try Self.record(try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id])!))
                }
                return out
            }
        }
    }

    public func job(id: String) async throws -> JobRecord {
        try await storage {
            try await pool.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]) else {
                    throw JobQueueError.notFound(id)
                }
                return try Self.record(row)
            }
        }
    }

    public func job(idempotencyKey: String) async throws -> JobRecord? {
        try await storage {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE idempotency_key = ?", arguments: [idempotencyKey]).map(Self.record)
            }
        }
    }

    public func list(state: JobState?, limit: Int, offset: Int) async throws -> (jobs: [JobRecord], total: Int) {
        try await storage {
            try await pool.read { db in
                let filter = state == nil ? "" : "WHERE state = ?"
                let args: StatementArguments = state == nil ? [] : [state!.rawValue]
                let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs \(filter)", arguments: args) ?? 0
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM jobs \(filter) ORDER BY seq DESC LIMIT ? OFFSET ?",
                                            arguments: args + [limit, offset])
                return (try rows.map(Self.record), total)
            }
        }
    }

    public func cancel(id: String) async throws -> JobRecord {
        try await storage {
            try await pool.write { db in
                let now = Date().timeIntervalSince1970
                try db.execute(sql: "UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE id = ? AND state = 'queued'",
                               arguments: [now, id])
                try db.execute(sql: "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'", arguments: [id])
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]) else {
                    throw JobQueueError.notFound(id)
                }
                return try Self.record(row)
            }
        }
    }

    public func counts() async throws -> QueueCounts {
        try await storage {
            try await pool.read { db in
                var counts: [JobState: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state") {
                    if let s = JobState(rawValue: row["state"]) { counts[s] = row["n"] }
                }
                return QueueCounts(counts: counts)
            }
        }
    }

    public func claim(worker: String, leaseSeconds: Double) async throws -> JobRecord? {
        let maxAttempts = maxAttempts
        return try await storage {
            try await pool.write { db -> JobRecord? in
                let now = Date().timeIntervalSince1970
                while true {
                    guard let row = try Row.fetchOne(db, sql: """
                        SELECT * FROM jobs WHERE state = 'queued' OR (state = 'running' AND lease_expires_at < ?)
                        ORDER BY seq LIMIT 1
                        """, arguments: [now]) else { return nil }
                    let id: String = row["id"]
                    let state: String = row["state"]
                    let attempts: Int = row["attempts"]
                    if state == "running" {
                        // Its worker stopped renewing the lease (crashed or was killed).
                        if (row["cancel_requested"] as Int) != 0 {
                            try db.execute(sql: "UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_owner = NULL WHERE id = ?",
                                           arguments: [now, id])
                            continue
                        }
                        if attempts >= maxAttempts {
                            try db.execute(sql: """
                                UPDATE jobs SET state = 'failed', finished_at = ?, lease_owner = NULL,
                                error = ? WHERE id = ?
                                """, arguments: [now, "abandoned: its worker stopped responding \(attempts) times", id])
                            continue
                        }
                    }
                    try db.execute(sql: """
                        UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1,
                        started_at = COALESCE(started_at, ?) WHERE id = ?
                        """, arguments: [worker, now + leaseSeconds, now, id])
                    return try Self.record(try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id])!)
                }
            }
        }
    }

    public func heartbeat(id: String, worker: String, leaseSeconds: Double, completedSegments: Int, totalSegments: Int,
                          audioSeconds: Double) async throws -> LeaseStatus {
        try await storage {
            try await pool.write { db in
                let now = Date().timeIntervalSince1970
                try db.execute(sql: """
                    UPDATE jobs SET lease_expires_at = ?, completed_segments = ?, total_segments = ?, audio_seconds = ?
                    WHERE id = ? AND state = 'running' AND lease_owner = ?
                    """, arguments: [now + leaseSeconds, completedSegments, totalSegments, audioSeconds, id, worker])
                guard db.changesCount == 1 else { return .lost }
                let cancel = try Int.fetchOne(db, sql: "SELECT cancel_requested FROM jobs WHERE id = ?", arguments: [id]) ?? 0
                return cancel != 0 ? .cancelRequested : .held
            }
        }
    }

    public func complete(id: String, worker: String, outputPath: String, result: JobResult) async throws -> Bool {
        let encoded = String(decoding: try JobCoding.encoder.encode(result), as: UTF8.self)
        return try await storage {
            try await pool.write { db in
                try db.execute(sql: """
                    UPDATE jobs SET state = 'succeeded', finished_at = ?, output_path = ?, result = ?, lease_owner = NULL,
                    lease_expires_at = NULL, completed_segments = ?, total_segments = ?, audio_seconds = ?, error = NULL
                    WHERE id = ? AND state = 'running' AND lease_owner = ?
                    """, arguments: [Date().timeIntervalSince1970, outputPath, encoded, result.segments, result.segments,
                                     result.audioSeconds, id, worker])
                return db.changesCount == 1
            }
        }
    }

    public func fail(id: String, worker: String, error: String, retry: Bool) async throws {
        let maxAttempts = maxAttempts
        try await storage {
            try await pool.write { db in
                let attempts = try Int.fetchOne(db, sql: "SELECT attempts FROM jobs WHERE id = ?", arguments: [id]) ?? 0
                if retry && attempts < maxAttempts {
                    try db.execute(sql: """
                        UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, error = ?
                        WHERE id = ? AND state = 'running' AND lease_owner = ?
                        """, arguments: [error, id, worker])
                } else {
                    try db.execute(sql: """
                        UPDATE jobs SET state = 'failed', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL, error = ?
                        WHERE id = ? AND state = 'running' AND lease_owner = ?
                        """, arguments: [Date().timeIntervalSince1970, error, id, worker])
                }
            }
        }
    }

    public func finishCancelled(id: String, worker: String) async throws {
        try await storage {
            try await pool.write { db in
                try db.execute(sql: """
                    UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND state = 'running' AND lease_owner = ?
                    """, arguments: [Date().timeIntervalSince1970, id, worker])
            }
        }
    }

    public func release(id: String, worker: String) async throws {
        try await storage {
            try await pool.write { db in
                try db.execute(sql: """
                    UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                    attempts = MAX(attempts - 1, 0) WHERE id = ? AND state = 'running' AND lease_owner = ?
                    """, arguments: [id, worker])
            }
        }
    }

    static func record(_ row: Row) throws -> JobRecord {
        func date(_ column: String) -> Date? { (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
        let parametersText: String = row["parameters"]
        let resultText: String? = row["result"]
        return JobCoding.presented(JobRecord(
            id: row["id"], state: JobState(rawValue: row["state"]) ?? .failed,
            parameters: try JobCoding.decoder.decode(SpeechParameters.self, from: Data(parametersText.utf8)),
            idempotencyKey: row["idempotency_key"], createdAt: date("created_at") ?? Date(timeIntervalSince1970: 0),
            startedAt: date("started_at"), finishedAt: date("finished_at"), attempts: row["attempts"],
            leaseOwner: row["lease_owner"], leaseExpiresAt: date("lease_expires_at"),
            completedSegments: row["completed_segments"], totalSegments: row["total_segments"],
            audioSeconds: row["audio_seconds"], outputPath: row["output_path"],
            result: try resultText.map { try JobCoding.decoder.decode(JobResult.self, from: Data($0.utf8)) },
            error: row["error"], cancelRequested: (row["cancel_requested"] as Int) != 0))
    }
}

/// Shared encoding helpers of the queue implementations.
enum JobCoding {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()
    static let decoder = JSONDecoder()

    /// Time-ordered, unique, URL-safe: 12 hex digits of milliseconds, then 10 random hex digits.
    static func newID() -> String {
        let ms = UInt64(Date().timeIntervalSince1970 * 1000)
        let random = UInt64.random(in: 0..<(1 << 40))
        return "job_" + String(ms, radix: 16).leftPadded(12) + String(random, radix: 16).leftPadded(10)
    }

    /// A running job whose lease has expired is shown as queued again (it waits for another worker).
    static func presented(_ job: JobRecord, now: Date = Date()) -> JobRecord {
        var job = job
        if job.state == .running, let expiry = job.leaseExpiresAt, expiry < now {
            job.state = .queued
            job.leaseOwner = nil
        }
        return job
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
