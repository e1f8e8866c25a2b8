import Foundation
import IndexTTS
import IndexTTSAudio

/// A stored voice: its reference clip, what describes it, and which engines have stored their conditioning of it.
public struct VoiceEntry: Codable, Sendable, Equatable {
    public var name: String
    public var createdAt: Date
    /// Duration, rate and format of the uploaded clip.
    public var seconds: Double
    public var sampleRate: Int
    public var sourceFormat: String
    /// The clip's prosody (mean pitch in Hz, pitch spread in octaves, syllables per second, loudness in dBFS, voiced
    /// seconds) when a prosody conditioning measured it (the default voice's `prosody` tensor), or when the entry was
    /// written before conditionings existed (then these fields were the voice's only analysis); nil otherwise.
    public var pitchHz: Double?
    public var pitchSpreadOctaves: Double?
    public var syllablesPerSecond: Double?
    public var loudnessDB: Double?
    public var voicedSeconds: Double?
    /// Free text the user attached (who speaks, licence of the recording).
    public var description: String?
    /// Engines (``EngineInfo/id``) with a stored conditioning of this voice (`conditioning-<id>.safetensors`);
    /// filled from the folder when the entry is read.
    public var conditioning: [String]?

    /// The prosody fields as the default voice takes them, when present.
    public var prosody: ProsodyTransfer.Measurement? {
        guard let pitchHz, let pitchSpreadOctaves, let syllablesPerSecond, let loudnessDB, let voicedSeconds else { return nil }
        return ProsodyTransfer.Measurement(log2PitchMean: log2(pitchHz), log2PitchDeviation: pitchSpreadOctaves,
                                           syllablesPerSecond: syllablesPerSecond, loudness: loudnessDB, voicedSeconds: voicedSeconds)
    }

    /// Fills the prosody fields from a conditioning that carries a prosody measurement (tensor `prosody` `[5]`:
    /// log2 mean pitch, spread in octaves, syllables/s, loudness, voiced seconds — ``DefaultVoiceEngine``'s format).
    mutating func describe(_ conditioning: VoiceConditioning) {
        guard let t = conditioning.tensors["prosody"], t.shape == [5] else { return }
        let v = t.scalars.map(Double.init)
        pitchHz = pow(2, v[0])
        pitchSpreadOctaves = v[1]
        syllablesPerSecond = v[2]
        loudnessDB = v[3]
        voicedSeconds = v[4]
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
        case description, conditioning
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
    /// The disk (or quota) had no room for the voice; nothing of it was kept.
    case outOfSpace(String)

    public var description: String {
        switch self {
        case .invalidName(let n):
            return "invalid voice name '\(n)': use 1–64 letters, digits, '_' or '-', starting with a letter or digit"
        case .notFound(let n): return "no voice named '\(n)' in the library"
        case .alreadyExists(let n): return "a voice named '\(n)' already exists; delete it first or choose another name"
        case .reservedName(let n): return "'\(n)' is a built-in voice name"
        case .invalidAudio(let why): return "reference audio: \(why)"
        case .storage(let why): return "voice library storage: \(why)"
        case .outOfSpace(let name): return "no space left on the device to store the voice '\(name)'; nothing was kept"
        }
    }
}

/// Voices users add by uploading a reference clip: `<root>/<name>/reference.wav`, `voice.json`, and per engine that
/// analysed it `conditioning-<engine id>.safetensors` (``VoiceConditioning``, with the engine's model fingerprint, so
/// that a voice is analysed once per engine and weights, not once per request). Names are
/// validated so that no request can reach outside `root`. Safe to share between threads (the file system is the
/// state; creation is atomic through a rename).
public struct VoiceLibrary: Sendable {
    public let root: URL
    /// Names of built-in voices and aliases a library voice may not take.
    public let reserved: Set<String>
    /// Clips must last at least this long and at most `maxSeconds`.
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

    /// Decodes `audio` (any format ``AudioDecoder`` reads), has `engine` analyse it
    /// (``SpeechEngine/analyzeVoice(samples:sampleRate:)``) and stores clip, entry and conditioning under `name`.
    /// An engine that cannot store conditioning (``SynthesisError/unsupported(_:)``) or no engine: the voice is
    /// stored without one (requests then give the clip to the engine, and the first one may store it later).
    /// - Throws: ``VoiceLibraryError/invalidAudio(_:)`` when the clip does not decode, is too short or long, or the
    ///   engine cannot use it.
    @discardableResult
    public func add(name: String, audio: [UInt8], fileName: String, description: String? = nil,
                    engine: (any SpeechEngine)? = nil) throws -> VoiceEntry {
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
        var conditioning: VoiceConditioning?
        if let engine {
            do { conditioning = try engine.analyzeVoice(samples: clip.samples, sampleRate: clip.sampleRate) } catch SynthesisError.unsupported {
                conditioning = nil
            } catch {
                throw VoiceLibraryError.invalidAudio("\(engine.info.name) cannot use the clip: \(error)")
            }
        }
        var entry = VoiceEntry(name: name, createdAt: Date(), seconds: clip.duration, sampleRate: clip.sampleRate,
                               sourceFormat: clip.format, description: description)
        if let conditioning {
            entry.describe(conditioning)
            entry.conditioning = [conditioning.engine]
        }
        let fm = FileManager.default
        let staging = root.appendingPathComponent(".staging-\(UUID().uuidString)", isDirectory: true)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            let wav = try AudioEncoder.encode(clip.samples, sampleRate: clip.sampleRate, format: .wav)
            try Data(wav).write(to: staging.appendingPathComponent("reference.wav"))
            try Self.encoder.encode(entry).write(to: staging.appendingPathComponent("voice.json"))
            if let conditioning {
                try conditioning.write(to: staging.appendingPathComponent(Self.conditioningFileName(conditioning.engine)).path)
            }
            try fm.moveItem(at: staging, to: target)
        } catch {
            try? fm.removeItem(at: staging)
            if fm.fileExists(atPath: target.path) { throw VoiceLibraryError.alreadyExists(name) }
            if StorageFiles.isOutOfSpace(error) { throw VoiceLibraryError.outOfSpace(name) }
            throw VoiceLibraryError.storage("\(error)")
        }
        return try self.entry(name)  // as stored, so later reads compare equal
    }

    /// Removes what a process killed while adding a voice or storing its conditioning left behind: `.staging-*`
    /// folders and `*.partial` files older than `age` seconds (an add takes seconds; the age keeps another live server
    /// sharing the folder safe). Returns the paths removed, relative to the library root.
    @discardableResult
    public func removeAbandonedStaging(olderThan age: TimeInterval = 600) -> [String] {
        let fm = FileManager.default
        let cutoff = Date().addingTimeInterval(-age)
        func old(_ path: String) -> Bool {
            ((try? fm.attributesOfItem(atPath: path)[.modificationDate]) as? Date).map { $0 < cutoff } ?? false
        }
        var removed: [String] = []
        for name in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] {
            let path = root.appendingPathComponent(name).path
            if name.hasPrefix(".staging-") {
                if old(path), (try? fm.removeItem(atPath: path)) != nil { removed.append(name) }
                continue
            }
            for inner in (try? fm.contentsOfDirectory(atPath: path)) ?? [] where inner.hasSuffix(".partial") {
                let file = (path as NSString).appendingPathComponent(inner)
                if old(file), (try? fm.removeItem(atPath: file)) != nil { removed.append("\(name)/\(inner)") }
            }
        }
        return removed
    }

    /// `conditioning-<engine id>.safetensors` (the id reduced to letters, digits, `_`, `-` and `.`).
    public static func conditioningFileName(_ engine: String) -> String {
        let safe = String(engine.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || "_-.".unicodeScalars.contains($0) }
            .map(Character.init))
        return "conditioning-\(safe.isEmpty ? "engine" : safe).safetensors"
    }

    /// Where `name`'s conditioning for `engine` lives (whether or not it exists).
    public func conditioningPath(_ name: String, engine: String) throws -> String {
        try folder(name).appendingPathComponent(Self.conditioningFileName(engine)).path
    }

    /// The stored conditioning of `name` made by `engine` with weights `model`; nil when there is none, or it was
    /// made with other weights, or it is unreadable (the engine then analyses the clip again).
    public func conditioning(_ name: String, engine: String, model: String) -> VoiceConditioning? {
        guard let path = try? conditioningPath(name, engine: engine), FileManager.default.fileExists(atPath: path),
              let stored = try? VoiceConditioning.read(path: path), stored.matches(engine: engine, model: model) else { return nil }
        return stored
    }

    /// Stores (or replaces) `conditioning` for the library voice `name`, atomically (a temporary file renamed).
    public func storeConditioning(_ conditioning: VoiceConditioning, for name: String) throws {
        guard contains(name) else { throw VoiceLibraryError.notFound(name) }
        let path = try conditioningPath(name, engine: conditioning.engine)
        let temporary = path + ".\(UUID().uuidString).partial"
        do {
            try conditioning.write(to: temporary)
            if rename(temporary, path) != 0 {
                throw VoiceLibraryError.storage("cannot move \(temporary) to \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            if let e = error as? VoiceLibraryError { throw e }
            throw VoiceLibraryError.storage("\(error)")
        }
    }

    public func entry(_ name: String) throws -> VoiceEntry {
        let url = try folder(name).appendingPathComponent("voice.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { throw VoiceLibraryError.notFound(name) }
        var entry: VoiceEntry
        do { entry = try Self.decoder.decode(VoiceEntry.self, from: data) } catch {
            throw VoiceLibraryError.storage("\(url.path) is unreadable: \(error)")
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)) ?? []
        let engines = files.filter { $0.hasPrefix("conditioning-") && $0.hasSuffix(".safetensors") }
            .map { String($0.dropFirst("conditioning-".count).dropLast(".safetensors".count)) }.sorted()
        entry.conditioning = engines.isEmpty ? nil : engines
        return entry
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
