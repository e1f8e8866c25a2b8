import Foundation
import IndexTTSJobs
import Testing

/// Files the server writes are whole or absent, and a full disk is recognised as such (the worker then hands the job
/// back instead of spending an attempt; uploads and voices answer 507).
struct StorageFilesTests {
    @Test func aFullDeviceIsRecognised() throws {
        // /dev/full answers every write with ENOSPC.
        let error = #expect(throws: (any Error).self) { try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "/dev/full")) }
        #expect(StorageFiles.isOutOfSpace(try #require(error)), "\(String(describing: error))")
        #expect(StorageFiles.isOutOfSpace(POSIXError(.ENOSPC)))
        #expect(StorageFiles.isOutOfSpace(CocoaError(.fileWriteOutOfSpace)))
        #expect(!StorageFiles.isOutOfSpace(POSIXError(.EACCES)))
        #expect(!StorageFiles.isOutOfSpace(CocoaError(.fileNoSuchFile)))
    }

    @Test func atomicWritesLeaveWholeFilesOrNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out.wav")
        try StorageFiles.writeAtomically([UInt8](repeating: 7, count: 1000), to: target)
        try StorageFiles.writeAtomically([UInt8](repeating: 9, count: 10), to: target)  // replaces whole
        #expect(try Data(contentsOf: target) == Data(repeating: 9, count: 10))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.wav"])

        // The rename fails (the target is a non-empty directory): the temporary file goes, the error comes back.
        let blocked = dir.appendingPathComponent("blocked")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("inside"), withIntermediateDirectories: true)
        #expect(throws: (any Error).self) { try StorageFiles.writeAtomically([1, 2, 3], to: blocked) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["blocked", "out.wav"])
    }

    @Test func onlyTemporariesWhoseWriterIsGoneAreSwept() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A writer that died: its file is there, nobody holds its lock.
        try Data(repeating: 1, count: 10).write(to: dir.appendingPathComponent(".a.wav.dead.partial"))
        // A writer still at work (in this test, an open descriptor holding the lock, as writeAtomically does).
        let live = dir.appendingPathComponent(".b.wav.live.partial").path
        let fd = open(live, O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0 && flock(fd, LOCK_EX) == 0)
        defer { close(fd) }
        try Data([1]).write(to: dir.appendingPathComponent("c.wav"))  // finished files are never touched
        #expect(StorageFiles.removeAbandonedTemporaries(in: dir) == [".a.wav.dead.partial"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == [".b.wav.live.partial", "c.wav"])
    }
}
