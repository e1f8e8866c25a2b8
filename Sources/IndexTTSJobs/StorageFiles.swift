import Foundation

/// Writing files so that no reader ever sees half of one, and telling a full disk from other storage trouble.
public enum StorageFiles {
    /// Writes `bytes` to a hidden temporary file beside `url` (`.<name>.<uuid>.partial`) and renames it onto `url`.
    /// On any failure — a full disk included — the temporary file is removed and the error rethrown, so `url` either
    /// holds the whole content or is untouched. The writer holds an exclusive `flock` on the temporary file until the
    /// rename, so ``removeAbandonedTemporaries(in:)`` can tell one whose writer died (SIGKILL) from one being written.
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to url: URL) throws {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.lowercased()).partial")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw posixError(errno, temporary.path) }
        defer { close(fd) }  // after the rename: the lock is held until the file has its final name
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
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".partial") {
            let path = directory.appendingPathComponent(name).path
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0, unlink(path) == 0 { removed.append(name) }
            close(fd)
        }
        return removed
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
