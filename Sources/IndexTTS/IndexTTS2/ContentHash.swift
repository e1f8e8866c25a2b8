import Crypto
import Foundation

/// SHA-256 (swift-crypto) fed with the values the engine hashes: the content hashes of voice clips (the
/// conditioning cache's keys) and the model fingerprint.
struct ContentHash {
    private var hasher = Crypto.SHA256()

    mutating func update(_ data: Data) { hasher.update(data: data) }
    mutating func update(_ string: String) { hasher.update(data: Data(string.utf8)) }
    /// The samples' IEEE-754 bytes in native (little-endian) order.
    mutating func update(_ floats: [Float]) { floats.withUnsafeBytes { hasher.update(bufferPointer: $0) } }

    func hexDigest() -> String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }
}
