import Foundation
import IndexTTSTensor
import IndexTTSWeights

/// What an engine measured from a voice clip, so that a voice is analysed once and never again: the default voice's
/// prosody measurement, IndexTTS2's reference conditioning (`spk_cond_emb`, `S_ref`, `ref_mel`, `style`, …). Engines
/// make it (``SpeechEngine/analyzeVoice(samples:sampleRate:)``), the voice library stores it next to the clip as a
/// safetensors file, and requests carry it back (``SynthesisRequest/voiceConditioning``).
///
/// Tensors are named as the engine's reference code names them. `engine` is ``EngineInfo/id``; `model` identifies
/// the weights it was computed with (an engine ignores conditioning made by another engine or other weights and
/// analyses the clip again).
public struct VoiceConditioning: Sendable {
    public var engine: String
    public var model: String
    public var tensors: [String: Tensor]
    /// Free-form facts about the analysis (clip duration, sample rate, format version), strings only.
    public var metadata: [String: String]

    /// Metadata keys the file format itself uses.
    public static let engineKey = "indextts.engine"
    public static let modelKey = "indextts.model"
    public static let formatKey = "indextts.conditioning_format"
    public static let formatVersion = "1"

    public init(engine: String, model: String, tensors: [String: Tensor], metadata: [String: String] = [:]) {
        self.engine = engine
        self.model = model
        self.tensors = tensors
        self.metadata = metadata
    }

    /// True when this conditioning was made by `engine` (an ``EngineInfo/id``) with weights `model`.
    public func matches(engine: String, model: String) -> Bool { self.engine == engine && self.model == model }

    /// The tensor `name`, or ``VoiceConditioningError/missingTensor(file:name:)``.
    public func tensor(_ name: String, file: String = "voice conditioning") throws -> Tensor {
        guard let t = tensors[name] else { throw VoiceConditioningError.missingTensor(file: file, name: name) }
        return t
    }

    /// Writes a safetensors file: the tensors, and the metadata with the engine and model keys.
    public func write(to path: String) throws {
        var meta = metadata
        meta[Self.engineKey] = engine
        meta[Self.modelKey] = model
        meta[Self.formatKey] = Self.formatVersion
        do { try SafeTensorsWriter.write(tensors, metadata: meta, to: path) } catch {
            throw VoiceConditioningError.unreadable(file: path, reason: "cannot write: \(error)")
        }
    }

    /// Reads a file ``write(to:)`` wrote.
    /// - Throws: ``VoiceConditioningError`` naming the file and what is wrong with it.
    public static func read(path: String) throws -> VoiceConditioning {
        let store: WeightStore
        do { store = try WeightStore.open(path: path) } catch {
            throw VoiceConditioningError.unreadable(file: path, reason: "\(error)")
        }
        guard store.format == .safetensors else {
            throw VoiceConditioningError.unreadable(file: path, reason: "not a safetensors file (\(store.format.rawValue))")
        }
        guard let engine = store.metadata[engineKey], let model = store.metadata[modelKey] else {
            throw VoiceConditioningError.unreadable(file: path, reason: "no \(engineKey)/\(modelKey) metadata (not written by indextts)")
        }
        var tensors: [String: Tensor] = [:]
        for key in store.keys {
            do { tensors[key] = try store.tensor(key) } catch {
                throw VoiceConditioningError.unreadable(file: path, reason: "tensor \(key): \(error)")
            }
        }
        var metadata = store.metadata
        for key in [engineKey, modelKey, formatKey] { metadata[key] = nil }
        return VoiceConditioning(engine: engine, model: model, tensors: tensors, metadata: metadata)
    }
}

/// Problems with a stored voice conditioning, naming the file and the tensor.
public enum VoiceConditioningError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case missingTensor(file: String, name: String)
    case badShape(file: String, name: String, shape: [Int], expected: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): return "\(file): \(reason)"
        case .missingTensor(let file, let name): return "\(file): no tensor '\(name)'"
        case .badShape(let file, let name, let shape, let expected):
            return "\(file): tensor '\(name)' has shape \(shape), expected \(expected)"
        }
    }
}
