import Foundation
import IndexTTSTensor

/// The GPT's conditioning of recent voices: the speaker latents (`get_conditioning`, `[1, 32, model_dim]`) and
/// emotion vectors (`get_emovec`, `[1, model_dim]`) of conditioning embeddings seen before, keyed by a SHA-256 of the
/// embedding's values, its length argument and the role (``key(_:embedding:length:)``). Both are deterministic
/// functions of the embedding and the loaded weights, so a repeated voice skips the GPT's two conformer encoders
/// (about a second of compute and their 1.1 GB of checkpoint pages at full size) and gets bit-identical tensors.
/// 32 entries by default, least recently used dropped first.
typealias IndexTTS2LatentCache = ContentKeyedCache<Tensor>

/// What a cached GPT conditioning tensor is: the speaker latent or an emotion vector.
enum IndexTTS2LatentRole: String { case conditioning, emotion }

extension ContentKeyedCache where Value == Tensor {
    convenience init() { self.init(capacity: 32) }

    static func key(_ role: IndexTTS2LatentRole, embedding: Tensor, length: Int?) -> String {
        var hash = ContentHash()
        hash.update("\(role.rawValue) \(embedding.shape) \(length.map(String.init) ?? "all")\n")
        hash.update(embedding.scalars)
        return hash.hexDigest()
    }
}
