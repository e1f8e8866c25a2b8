import Foundation

/// English (and any espeak-ng language) phonemes as Piper makes them, from the `espeak-ng` program run as a
/// separate process (Debian's `espeak-ng`, installed by scripts/setup.sh; nothing of it is linked in).
///
/// Piper (piper-phonemize / piper-tts) asks espeak-ng for IPA clause by clause, appends each clause's terminator
/// (`.`, `,`, `?`, `!`, `:`, `;`) to its phonemes — plus a space after `,` `:` `;` — and starts a new sentence after
/// `.`, `?` and `!`; the phonemes are then split into Unicode scalars after NFD. The command-line program prints one
/// line per clause but drops the terminators, so the clauses are cut here by espeak-ng's own rule (a terminator
/// followed by a space or the end of the text) and each line is matched to its clause; when the counts disagree
/// each clause is phonemised on its own. Language-switch flags such as `(fr)` are removed, as Piper does.
///
/// The program normally runs once for all requests (``EspeakSession``: one clause per line, a sentinel line after
/// each, the output grouped between the sentinel's echoes); a program run per request remains the fallback when the
/// long-lived process cannot be used, and gives the error a user sees when espeak-ng is broken.
public struct EspeakPhonemizer: Sendable {
    /// A clause: its text including the terminator, and the terminator itself (nil at the end of unpunctuated text).
    public struct Clause: Sendable, Equatable {
        public var text: String
        public var terminator: Character?
        public var endsSentence: Bool { terminator.map { ".?!".contains($0) } ?? true }
    }

    public let executable: String
    public let voice: String

    /// The long-lived process, shared by copies of this phonemiser; nil when `persistent` was false.
    let session: EspeakSession?

    /// - Parameter persistent: keep one espeak-ng process for all requests (started on first use) instead of running
    ///   the program per request.
    public init(executable: String, voice: String, persistent: Bool = true) {
        self.executable = executable
        self.voice = voice
        self.session = persistent ? EspeakSession(executable: executable, voice: voice) : nil
    }

    /// Finds `espeak-ng` on `$PATH` (or at `$INDEXTTS_ESPEAK`).
    /// - Throws: ``TextError/phonemizerUnavailable(reason:)`` when it is not installed.
    public static func locate(voice: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> EspeakPhonemizer {
        if let explicit = environment["INDEXTTS_ESPEAK"], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw TextError.phonemizerUnavailable(reason: "INDEXTTS_ESPEAK=\(explicit) is not an executable")
            }
            return EspeakPhonemizer(executable: explicit, voice: voice)
        }
        let path = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        for dir in path + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(dir)/espeak-ng"
            if FileManager.default.isExecutableFile(atPath: candidate) { return EspeakPhonemizer(executable: candidate, voice: voice) }
        }
        throw TextError.phonemizerUnavailable(reason: "espeak-ng was not found on PATH (install it: scripts/setup.sh or apt-get install espeak-ng)")
    }

    static let terminators: Set<Character> = [".", ",", "?", "!", ":", ";"]
    static let closers: Set<Character> = ["\"", "'", ")", "]", "}", "”", "’", "»"]

    /// Cuts `text` into clauses at a terminator followed by whitespace or the end (closing quotes and brackets
    /// right after the terminator stay with its clause). Whitespace runs, newlines and other control characters
    /// included, become one space.
    public static func clauses(_ text: String) -> [Clause] {
        // Control characters (NUL would end the text for espeak-ng) count as whitespace.
        let visible = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        let chars = Array(visible.split(whereSeparator: { $0.isWhitespace }).joined(separator: " "))
        var clauses: [Clause] = []
        var start = 0, i = 0
        while i < chars.count {
            if terminators.contains(chars[i]) {
                var end = i + 1
                while end < chars.count, terminators.contains(chars[end]) || closers.contains(chars[end]) { end += 1 }
                if end == chars.count || chars[end] == " " {
                    // The last terminator of a run ("?!", "...") is the clause's.
                    let terminator = chars[start..<end].last(where: { terminators.contains($0) })
                    let piece = String(chars[start..<end]).trimmingCharacters(in: .whitespaces)
                    if !piece.isEmpty { clauses.append(Clause(text: piece, terminator: terminator)) }
                    start = end
                    i = end
                    continue
                }
            }
            i += 1
        }
        let rest = String(chars[min(start, chars.count)...]).trimmingCharacters(in: .whitespaces)
        if !rest.isEmpty { clauses.append(Clause(text: rest, terminator: nil)) }
        return clauses
    }

    /// Phonemes grouped by sentence, each phoneme one Unicode scalar (NFD), punctuation kept as Piper keeps it.
    /// Sentences with no phonemes (text of symbols only) are dropped.
    /// - Throws: ``TextError/phonemizerFailed(reason:)`` when espeak-ng cannot be run or fails.
    public func phonemize(_ text: String) throws -> [[String]] {
        let clauses = Self.clauses(text)
        guard !clauses.isEmpty else { return [] }
        var lines: [String]
        if let session, let grouped = try? session.lines(for: clauses.map(\.text)) {
            lines = grouped.map { $0.joined(separator: " ") }
        } else {
            lines = try run(clauses.map(\.text).joined(separator: "\n"))
            if lines.count != clauses.count {
                lines = try clauses.map { try run($0.text).joined(separator: " ") }
            }
        }
        var sentences: [[String]] = []
        var current: [String] = []
        var spoken = false
        for (clause, line) in zip(clauses, lines) {
            var phonemes = line.replacingOccurrences(of: #"\([^)]+\)"#, with: "", options: .regularExpression)
                .trimmingCharacters(in: .whitespaces)
            spoken = spoken || !phonemes.isEmpty
            if let terminator = clause.terminator {
                phonemes.append(terminator)
                if ",:;".contains(terminator) { phonemes.append(" ") }
            }
            current += phonemes.decomposedStringWithCanonicalMapping.unicodeScalars.map { String($0) }
            if clause.endsSentence {
                if spoken { sentences.append(current) }
                current = []
                spoken = false
            }
        }
        if spoken && !current.isEmpty { sentences.append(current) }
        return sentences
    }

    /// The program's options: quiet, IPA, UTF-8 input, the voice, and a rate of 440 words per minute, just below the
    /// 450 where espeak-ng switches to time-stretching (slower). The program synthesises the waveform it does not play
    /// (its command line has no phonemes-only mode) and the rate only shortens that waveform: it halves the time per
    /// clause (2.8 → 1.3 ms for a 55-character sentence on a 2-core EPYC) and leaves the IPA unchanged
    /// (byte-identical output at 175, 440 and 449 words per minute for 7,225 words of licence text and the Piper
    /// corpus; the corpus test checks the ids).
    static func arguments(voice: String) -> [String] { ["-q", "--ipa", "-b", "1", "-s", "440", "-v", voice] }

    /// espeak-ng's IPA for `input` (one line per clause it found; blank lines dropped). The text goes through a
    /// private temporary file (`-f`), so that nothing has to feed a pipe while its output is read.
    func run(_ input: String) throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("indextts-espeak-\(UUID().uuidString).txt")
        do { try Data(input.utf8).write(to: file, options: .atomic) } catch {
            throw TextError.phonemizerFailed(reason: "cannot write the text for espeak-ng: \(error)")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Self.arguments(voice: voice) + ["-f", file.path]
        let stdout = Pipe(), stderr = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            throw TextError.phonemizerFailed(reason: "cannot run \(executable): \(error)")
        }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TextError.phonemizerFailed(
                reason: "\(executable) -v \(voice) exited with \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self).prefix(300))")
        }
        return String(decoding: output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }
}
