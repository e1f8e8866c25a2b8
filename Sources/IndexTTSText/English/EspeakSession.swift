import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One long-lived `espeak-ng --ipa` process reading text from its standard input, so that a request pays for a
/// clause's phonemes (≈ 0.1–1 ms) instead of a program start and dictionary load (≈ 12 ms on a 2-core EPYC).
///
/// espeak-ng reading standard input ends a clause at each newline and prints its IPA at once, one line per clause
/// (a long clause may take several lines). Each clause is therefore sent on its own line followed by a *sentinel*
/// line of phoneme input (`[[x x x x x x x x]]`, eight velar fricatives that no English text produces); the output
/// lines between two sentinel echoes are that clause's. Text this exchange would read differently from a program run
/// (``unsuitable(_:)``) is refused here, and the caller phonemises it with a program run of its own. Any surprise — the program gone, an unexpected line, no answer within the deadline — ends the process; the
/// next request starts a fresh one.
///
/// Requests are served one at a time (a lock around the exchange); the process ends with the last reference to the
/// session or with ours (its standard input closes).
final class EspeakSession: Sendable {
    /// Why the session could not answer; the caller falls back to a program run per request.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let sentinel = "[[x x x x x x x x]]"

    let executable: String
    let voice: String
    /// The running process, and how many times in a row one failed to start (after ``maxFailedStarts`` the session
    /// gives up: every request then runs the program itself, as before, and sees its error).
    private let state = Mutex<(running: Running?, failedStarts: Int, lastFailure: String?)>((nil, 0, nil))
    /// Requests the session answered (for tests and diagnostics).
    private let answeredCount = Mutex(0)

    static let maxFailedStarts = 3

    init(executable: String, voice: String) {
        self.executable = executable
        self.voice = voice
    }

    deinit {
        state.withLock { state in
            state.running?.stop()
            state.running = nil
        }
    }

    /// espeak-ng's output lines (blank ones dropped) for each clause, in order.
    /// - Throws: ``Failure`` when the text cannot go through the session or the process misbehaves.
    func lines(for clauses: [String]) throws -> [[String]] {
        if let problem = Self.unsuitable(clauses) { throw Failure(description: problem) }
        let groups = try state.withLock { state in
            if state.running == nil {
                guard state.failedStarts < Self.maxFailedStarts else {
                    throw Failure(description: "espeak-ng failed to start \(state.failedStarts) times: \(state.lastFailure ?? "")")
                }
                do {
                    state.running = try Running(executable: executable, voice: voice)
                    state.failedStarts = 0
                } catch {
                    state.failedStarts += 1
                    state.lastFailure = "\(error)"
                    throw error
                }
            }
            do {
                return try state.running!.exchange(clauses)
            } catch {
                state.running?.stop()
                state.running = nil
                state.lastFailure = "\(error)"
                throw error
            }
        }
        answeredCount.withLock { $0 += 1 }
        return groups
    }

    /// Requests answered by the long-lived process so far.
    var answered: Int { answeredCount.withLock { $0 } }

    /// The longest clause sent as one line, in UTF-8 bytes: espeak-ng reads standard input with a 1,000-byte line
    /// buffer and would cut a longer line inside a word.
    static let maxLineBytes = 900

    /// Why `clauses` must go through a program run of their own (giving what that run gives), or nil:
    /// - `[[` (espeak-ng's phoneme input) could forge the sentinel's echo;
    /// - a control character would split the line (``EspeakPhonemizer/clauses(_:)`` makes them spaces);
    /// - a clause longer than ``maxLineBytes``;
    /// - a clause of marks only ("!!!"): inside a whole text espeak-ng reads it as a word ("exclamation", as Piper
    ///   does) unless a line break ends the text, on a line of its own as punctuation (nothing). Clauses with a letter
    ///   or digit read the same either way (773 distinct clauses and 155 paragraphs of licence text, the Piper corpus
    ///   and hand-made cases compared).
    static func unsuitable(_ clauses: [String]) -> String? {
        if clauses.contains(where: { $0.contains("[[") }) { return "the text has phoneme input ([[)" }
        if clauses.contains(where: { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
            return "a line break or other control character inside a clause"
        }
        if clauses.contains(where: { $0.utf8.count > maxLineBytes }) { return "a clause longer than \(maxLineBytes) bytes" }
        if clauses.contains(where: { !$0.unicodeScalars.contains { $0.properties.isAlphabetic || $0.properties.numericType != nil } }) {
            return "a clause of marks only"
        }
        return nil
    }

    /// The running process's id, or nil when none runs now (for tests and diagnostics).
    var processID: Int32? { state.withLock { $0.running?.process.processIdentifier } }

    /// The process and its two descriptors: a socket as its standard input (so that writing to a process that has
    /// gone fails with EPIPE instead of raising SIGPIPE) and a pipe from its standard output.
    final class Running {
        let process: Process
        let input: Int32
        let output: Int32
        var pending: [UInt8] = []
        var sentinelEcho = ""
        private var stopped = false

        init(executable: String, voice: String) throws {
            var pair: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                throw Failure(description: "socketpair failed (errno \(errno))")
            }
            let stdout = Pipe()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = EspeakPhonemizer.arguments(voice: voice)
            process.standardInput = FileHandle(fileDescriptor: pair[1], closeOnDealloc: false)
            process.standardOutput = stdout
            process.standardError = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                close(pair[0]); close(pair[1])
                throw Failure(description: "cannot run \(executable): \(error)")
            }
            close(pair[1])
            self.process = process
            self.input = pair[0]
            self.output = fcntl(stdout.fileHandleForReading.fileDescriptor, F_DUPFD_CLOEXEC, 0)
            try? stdout.fileHandleForReading.close()
            // The sentinel alone: its echo, and proof that the program answers.
            do {
                guard output >= 0 else { throw Failure(description: "cannot keep espeak-ng's output (errno \(errno))") }
                let echo = try exchangeLines(Array(Self.sentinelLine.utf8), until: { !$0.isEmpty }, deadline: .now() + .seconds(10))
                guard let first = echo.first(where: { !$0.isEmpty }), echo.filter({ !$0.isEmpty }).count == 1 else {
                    throw Failure(description: "espeak-ng gave \(echo) for the sentinel")
                }
                sentinelEcho = first
            } catch {
                stop()
                throw error
            }
        }

        deinit { stop() }

        static var sentinelLine: String { EspeakSession.sentinel + "\n" }

        /// Closes both descriptors (the program sees the end of its input), ends the program — SIGTERM, then SIGKILL
        /// after half a second — and reaps it. Safe to call more than once.
        func stop() {
            guard !stopped else { return }
            stopped = true
            close(input)
            if output >= 0 { close(output) }
            if process.isRunning {
                process.terminate()
                let deadline = DispatchTime.now() + .milliseconds(500)
                while process.isRunning, DispatchTime.now() < deadline { usleep(5_000) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            process.waitUntilExit()
        }

        /// Sends each clause on its own line, each followed by the sentinel, and groups the output lines by clause.
        func exchange(_ clauses: [String]) throws -> [[String]] {
            var text = ""
            for clause in clauses {
                text += clause + "\n" + Self.sentinelLine
            }
            let echo = sentinelEcho
            // Generous: espeak-ng phonemises several thousand characters per second on one core.
            let deadline = DispatchTime.now() + .milliseconds(5_000 + text.utf8.count)
            var echoes = 0
            let lines = try exchangeLines(Array(text.utf8), until: { line in
                if line == echo { echoes += 1 }
                return echoes == clauses.count
            }, deadline: deadline)
            guard pending.isEmpty else { throw Failure(description: "espeak-ng printed more than asked") }
            var groups: [[String]] = []
            var current: [String] = []
            for line in lines {
                if line == echo {
                    groups.append(current)
                    current = []
                } else if !line.isEmpty {
                    current.append(line)
                }
            }
            guard groups.count == clauses.count, current.isEmpty else { throw Failure(description: "espeak-ng's answer is out of step") }
            return groups
        }

        /// Writes `bytes` while reading complete output lines (trimmed) until `last` says a line was the last one.
        private func exchangeLines(_ bytes: [UInt8], until last: (String) -> Bool, deadline: DispatchTime) throws -> [String] {
            var written = 0
            var lines: [String] = []
            var finished = false
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while !(written == bytes.count && finished) {
                let now = DispatchTime.now()
                guard now < deadline else { throw Failure(description: "espeak-ng did not answer in time") }
                let waitMs = Int32(min((deadline.uptimeNanoseconds - now.uptimeNanoseconds) / 1_000_000 + 1, 60_000))
                var fds = [pollfd(fd: output, events: Int16(POLLIN), revents: 0)]
                if written < bytes.count { fds.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
                let ready = poll(&fds, nfds_t(fds.count), waitMs)
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw Failure(description: "poll failed (errno \(errno))")
                }
                if fds.count > 1, fds[1].revents != 0 {
                    let n = bytes[written...].withUnsafeBytes { raw in
                        send(input, raw.baseAddress, min(raw.count, 16_384), Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                    }
                    if n < 0 {
                        if errno != EAGAIN && errno != EINTR { throw Failure(description: "espeak-ng's input closed (errno \(errno))") }
                    } else {
                        written += n
                    }
                }
                if fds[0].revents != 0 {
                    let n = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
                    if n < 0 {
                        if errno == EINTR || errno == EAGAIN { continue }
                        throw Failure(description: "reading espeak-ng's output failed (errno \(errno))")
                    }
                    if n == 0 { throw Failure(description: "espeak-ng exited") }
                    pending += buffer[0..<n]
                    while !finished, let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: pending[..<newline], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                        pending.removeSubrange(...newline)
                        lines.append(line)
                        finished = last(line)
                    }
                }
            }
            return lines
        }
    }
}
