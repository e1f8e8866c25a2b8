import Foundation
import IndexTTSTensor

/// Writes fp32 tensors as a `.safetensors` file (for debug dumps of features and activations that Python tools
/// can open with `safetensors.numpy.load_file`).
public enum SafeTensorsWriter {
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]]
            offset += t.count * 4
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            tensors[name]!.withUnsafeBufferPointer { values in
                #if _endian(little)
                data.append(UnsafeBufferPointer(start: UnsafeRawPointer(values.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                                count: values.count * 4))
                #else
                for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
                #endif
            }
        }
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw WeightsError.unreadable(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
