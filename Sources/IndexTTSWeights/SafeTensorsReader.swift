import Foundation
import IndexTTSTensor

/// Reads `.safetensors` files: an 8-byte little-endian header length, a JSON header mapping names to
/// `{dtype, shape, data_offsets}`, then the data. The file is memory-mapped; nothing is copied until a tensor loads.
public enum SafeTensorsReader {
    /// Largest header accepted (the format's own limit is 100 MB).
    static let maximumHeaderSize = 100 * 1024 * 1024

    public static func read(_ file: MappedFile) throws -> (entries: [TensorEntry], metadata: [String: String]) {
        let path = file.path
        guard file.size >= 8 else { throw WeightsError.corrupt(path: path, reason: "file shorter than the 8-byte header length") }
        let headerLength = Int(clamping: try file.read(UInt64.self, at: 0))
        guard headerLength > 0, headerLength <= maximumHeaderSize, headerLength <= file.size - 8 else {
            throw WeightsError.corrupt(path: path, reason: "header length \(headerLength) does not fit the file of \(file.size) bytes")
        }
        let headerBytes = try file.data(at: 8, count: headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes))
        } catch {
            throw WeightsError.corrupt(path: path, reason: "header is not valid JSON (\(error.localizedDescription))")
        }
        guard let header = json as? [String: Any] else {
            throw WeightsError.corrupt(path: path, reason: "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataSize = file.size - dataStart
        var metadata: [String: String] = [:]
        var entries: [TensorEntry] = []
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any], let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = (offsets[0] as? NSNumber)?.intValue, let end = (offsets[1] as? NSNumber)?.intValue else {
                throw WeightsError.corrupt(path: path, reason: "entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw WeightsError.unsupported(path: path, reason: "tensor '\(name)' has dtype \(dtypeName)")
            }
            let shape = try shapeValues.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else {
                    throw WeightsError.corrupt(path: path, reason: "tensor '\(name)' has a bad shape \(shapeValues)")
                }
                return n
            }
            guard let count = checkedElementCount(shape, byteSize: dtype.byteSize) else {
                throw WeightsError.corrupt(path: path, reason: "tensor '\(name)' shape \(shape) is too large")
            }
            guard begin >= 0, end >= begin, end <= dataSize else {
                throw WeightsError.corrupt(
                    path: path, reason: "tensor '\(name)' data \(begin)..<\(end) outside the data section of \(dataSize) bytes (truncated file?)")
            }
            guard end - begin == count * dtype.byteSize else {
                throw WeightsError.corrupt(
                    path: path, reason: "tensor '\(name)' \(dtypeName) \(shape) needs \(count * dtype.byteSize) bytes, has \(end - begin)")
            }
            entries.append(try TensorEntry(name: name, dtype: dtype, shape: shape, file: file,
                                           storageByteOffset: dataStart + begin, storageElementCount: count))
        }
        return (entries.sorted { $0.name < $1.name }, metadata)
    }
}
