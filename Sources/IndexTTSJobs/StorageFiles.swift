import Foundation

/// Writing files so that no reader ever sees half of one, and telling a full disk from other storage trouble.
public enum StorageFiles {
    /// Writes `bytes` to a hidden temporary file beside `url` (`.<name>.<uuid>.partial`) and renames it onto `url`.
    /// On any failure — a full disk included — the temporary file is removed and the error rethrown, so `url` either
    /// holds the whole content or is untouched. The writer holds an exclusive `flock` on the temporary file until the
    /// rename, so ``removeAbandonedTemporaries(in:)`` can tell one whose writer died (SIGKILL) from one being written.
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to url: URL) throws {
        _ = try writeAtomically(bytes, to: url, keepingLock: false)
    }

    /// ``writeAtomically(_:to:)`` whose lock outlives the write: the file's exclusive `flock` stays held (on the
    /// final name, the same inode) until the returned ``HeldFile`` goes away, so ``removeUnheldFiles(in:)`` leaves the
    /// file alone while its owner lives and removes it once the owner has died (a request's upload after a SIGKILL).
    public static func writeAtomicallyHoldingLock(_ bytes: some Collection<UInt8>, to url: URL) throws -> HeldFile {
        guard let held = try writeAtomically(bytes, to: url, keepingLock: true) else {
            throw posixError(EIO, url.path)
        }
        return held
    }

    private static func writeAtomically(_ bytes: some Collection<UInt8>, to url: URL, keepingLock: Bool) throws -> HeldFile? {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.lowercased()).partial")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw posixError(errno, temporary.path) }
        var kept = false
        defer { if !kept { close(fd) } }  // after the rename: the lock is held until the file has its final name
        do {
            _ = flock(fd, LOCK_EX)
            let data = Array(bytes)
            var offset = 0
            while offset < data.count {
                let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + offset, data.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw posixError(errno, temporary.path)
                }
                offset += n
            }
            if rename(temporary.path, url.path) != 0 { throw posixError(errno, url.path) }
        } catch {
            unlink(temporary.path)
            throw error
        }
        guard keepingLock else { return nil }
        kept = true
        return HeldFile(descriptor: fd, path: url.path)
    }

    /// Removes the regular files in `directory` that nobody holds a lock on (their owners are gone), including
    /// abandoned temporaries. Files whose owner lives, in this process or another sharing the folder, stay. Returns
    /// the names removed.
    @discardableResult
    public static func removeUnheldFiles(in directory: URL) -> [String] {
        removeUnlocked(in: directory) { _ in true }
    }

    /// Removes the regular files in `directory` whose names pass `include` and that nobody holds a `flock` on.
    /// Opens without blocking (a FIFO cannot hang the sweep) and without following links.
    private static func removeUnlocked(in directory: URL, where include: (String) -> Bool) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var removed: [String] = []
        for name in names where include(name) {
            let path = directory.appendingPathComponent(name).path
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard fd >= 0 else { continue }
            var info = stat()
            if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, flock(fd, LOCK_EX | LOCK_NB) == 0, unlink(path) == 0 {
                removed.append(name)
            }
            close(fd)
        }
        return removed
    }

    static func posixError(_ code: Int32, _ path: String) -> CocoaError {
        CocoaError(code == ENOSPC || code == EDQUOT ? .fileWriteOutOfSpace : .fileWriteUnknown, userInfo: [
            NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO),
            NSLocalizedDescriptionKey: "\(path): \(String(cString: strerror(code)))"])
    }

    /// Removes the temporary files of ``writeAtomically(_:to:)`` in `directory` whose writer is gone (a process
    /// killed mid-write): those nobody holds a lock on. Files being written by a live process, here or in another
    /// server sharing the folder, are left alone. Returns the names removed.
    @discardableResult
    public static func removeAbandonedTemporaries(in directory: URL) -> [String] {
        removeUnlocked(in: directory) { $0.hasPrefix(".") && $0.hasSuffix(".partial") }
    }

    /// Whether `error`, or an error it wraps, says the disk (or the user's quota) is full.
    public static func isOutOfSpace(_ error: any Error) -> Bool {
        if let posix = error as? POSIXError { return posix.code == .ENOSPC || posix.code == .EDQUOT }
        if let cocoa = error as? CocoaError {
            if cocoa.code == .fileWriteOutOfSpace { return true }
            if let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? any Error { return isOutOfSpace(underlying) }
            return false
        }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return ns.code == Int(ENOSPC) || ns.code == Int(EDQUOT) }
        if ns.domain == NSCocoaErrorDomain, ns.code == CocoaError.fileWriteOutOfSpace.rawValue { return true }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying !== ns { return isOutOfSpace(underlying) }
        return false
    }
}

/// A file whose exclusive `flock` this process holds (``StorageFiles/writeAtomicallyHoldingLock(_:to:)``): the lock
/// and the file go when the last reference to this object goes (the file is removed first, then unlocked, so that
/// no sweep sees it unheld while it exists).
public final class HeldFile: @unchecked Sendable {
    // @unchecked: the descriptor is written once, in init, and closed once, in deinit.
    public let path: String
    private let descriptor: Int32

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        unlink(path)
        close(descriptor)
    }
}
