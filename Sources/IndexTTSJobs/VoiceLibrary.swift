import Foundation
import IndexTTS
import IndexTTSAudio

/// A stored voice: its reference clip and what was measured from it when it was added.
public struct VoiceEntry: Codable, Sendable, Equatable {
    public var name: String
    public var createdAt: Date
    /// Duration, rate and format of the uploaded clip.
    public var seconds: Double
    public var sampleRate: Int
    public var sourceFormat: String
    /// The prosody measured from the clip (the conditioning the default voice uses): mean pitch in Hz, pitch spread
    /// in octaves, syllables per second, loudness in dBFS.
    public var pitchHz: Double
    public var pitchSpreadOctaves: Double
    public var syllablesPerSecond: Double
    public var loudnessDB: Double
    public var voicedSeconds: Double
    /// Free text the user attached (who speaks, licence of the recording).
    public var description: String?

    /// The stored analysis as the engine takes it (no need to measure the clip again per request).
    public var prosody: ProsodyTransfer.Measurement {
        ProsodyTransfer.Measurement(log2PitchMean: log2(pitchHz), log2PitchDeviation: pitchSpreadOctaves,
                                    syllablesPerSecond: syllablesPerSecond, loudness: loudnessDB, voicedSeconds: voicedSeconds)
    }

    enum CodingKeys: String, CodingKey {
        case name
        case createdAt = "created_at"
        case seconds
        case sampleRate = "sample_rate"
        case sourceFormat = "source_format"
        case pitchHz = "pitch_hz"
        case pitchSpreadOctaves = "pitch_spread_octaves"
        case syllablesPerSecond = "syllables_per_second"
        case loudnessDB = "loudness_db"
        case voicedSeconds = "voiced_seconds"
        case description
    }
}

/// Problems with the voice library, each naming the voice or the field at fault.
public enum VoiceLibraryError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(String)
    case notFound(String)
    case alreadyExists(String)
    case reservedName(String)
    case invalidAudio(String)
    case storage(String)

    public var description: String {
        switch self {
        case .invalidName(let n):
            return "invalid voice name '\(n)': use 1–64 letters, digits, '_' or '-', starting with a letter or digit"
        case .notFound(let n): return "no voice named '\(n)' in the library"
        case .alreadyExists(let n): return "a voice named '\(n)' already exists; delete it first or choose another name"
        case .reservedName(let n): return "'\(n)' is a built-in voice name"
        case .invalidAudio(let why): return "reference audio: \(why)"
        case .storage(let why): return "voice library storage: \(why)"
        }
    }
}

/// Voices users add by uploading a reference clip: `<root>/<name>/reference.wav` and `voice.json`. Names are
/// validated so that no request can reach outside `root`. Safe to share between threads (the file system is the
/// state; creation is atomic through a rename).
public struct VoiceLibrary: Sendable {
    public let root: URL
    /// Names of built-in voices and aliases a library voice may not take.
    public let reserved: Set<String>
    /// Clips must last at least this long (prosody measurement needs voiced speech) and at most `maxSeconds`.
    public var minSeconds = 1.0
    public var maxSeconds = 60.0

    public init(root: URL, reserved: Set<String>) {
        self.root = root
        self.reserved = Set(reserved.map { $0.lowercased() })
    }

    /// Letters (any script), digits, `_` and `-`; 1–64 characters; no leading punctuation, so no `.`/`..`/`/`.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.count), let first = name.unicodeScalars.first,
              CharacterSet.alphanumerics.contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }
    }

    func folder(_ name: String) throws -> URL {
        guard Self.isValidName(name) else { throw VoiceLibraryError.invalidName(name) }
        return root.appendingPathComponent(name, isDirectory: true)
    }

    /// Decodes and analyses `audio` (any format ``AudioDecoder`` reads), then stores it under `name`.
    @discardableResult
    public func add(name: String, audio: [UInt8], fileName: String, description: String? = nil) throws -> VoiceEntry {
        let target = try folder(name)
        if reserved.contains(name.lowercased()) { throw VoiceLibraryError.reservedName(name) }
        if FileManager.default.fileExists(atPath: target.path) { throw VoiceLibraryError.alreadyExists(name) }
        let clip: DecodedAudio
        do { clip = try AudioDecoder.decode(bytes: audio, name: fileName, requireSound: true) } catch {
            throw VoiceLibraryError.invalidAudio("\(error)")
        }
        guard clip.duration >= minSeconds, clip.duration <= maxSeconds else {
            throw VoiceLibraryError.invalidAudio(String(format: "the clip lasts %.2f s; voices need %.0f–%.0f s of speech",
                                                        clip.duration, minSeconds, maxSeconds))
        }
        let measured: ProsodyTransfer.Measurement
        do { measured = try ProsodyTransfer.measure(clip.samples, sampleRate: clip.sampleRate) } catch {
            throw VoiceLibraryError.invalidAudio("\(error)")
        }
        let entry = VoiceEntry(name: name, createdAt: Date(), seconds: clip.duration, sampleRate: clip.sampleRate,
                               sourceFormat: clip.format, pitchHz: pow(2, measured.log2PitchMean),
                               pitchSpreadOctaves: measured.log2PitchDeviation,
                               syllablesPerSecond: measured.syllablesPerSecond, loudnessDB: measured.loudness,
                               voicedSeconds: measured.voicedSeconds, description: description)
        let fm = FileManager.default
        let staging = root.appendingPathComponent(".staging-\(UUID().uuidString)", isDirectory: true)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            let wav = try AudioEncoder.encode(clip.samples, sampleRate: clip.sampleRate, format: .wav)
            try Data(wav).write(to: staging.appendingPathComponent("reference.wav"))
            try Self.encoder.encode(entry).write(to: staging.appendingPathComponent("voice.json"))
            try fm.moveItem(at: staging, to: target)
        } catch {
            try? fm.removeItem(at: staging)
            if fm.fileExists(atPath: target.path) { throw VoiceLibraryError.alreadyExists(name) }
            throw VoiceLibraryError.storage("\(error)")
        }
        return try self.entry(name)  // as stored, so later reads compare equal
    }

    public func entry(_ name: String) throws -> VoiceEntry {
        let url = try folder(name).appendingPathComponent("voice.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { throw VoiceLibraryError.notFound(name) }
        do { return try Self.decoder.decode(VoiceEntry.self, from: data) } catch {
            throw VoiceLibraryError.storage("\(url.path) is unreadable: \(error)")
        }
    }

    /// The stored reference clip of `name`.
    public func referencePath(_ name: String) throws -> String {
        let url = try folder(name).appendingPathComponent("reference.wav")
        guard FileManager.default.fileExists(atPath: url.path) else { throw VoiceLibraryError.notFound(name) }
        return url.path
    }

    public func contains(_ name: String) -> Bool {
        guard let url = try? folder(name) else { return false }
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("voice.json").path)
    }

    /// All voices, by name.
    public func list() throws -> [VoiceEntry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter(Self.isValidName).sorted().compactMap { try? entry($0) }
    }

    public func delete(_ name: String) throws {
        let target = try folder(name)
        guard FileManager.default.fileExists(atPath: target.path) else { throw VoiceLibraryError.notFound(name) }
        do { try FileManager.default.removeItem(at: target) } catch { throw VoiceLibraryError.storage("\(error)") }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.dateEncodingStrategy = .secondsSince1970
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return d
    }()
}
