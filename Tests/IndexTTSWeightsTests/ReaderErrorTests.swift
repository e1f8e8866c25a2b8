import Foundation
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// Damaged, foreign and unsupported files give typed errors that name the file and the reason.
struct ReaderErrorTests {
    /// Writes `bytes` to a scratch file and returns its path.
    func scratch(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = try Fixtures.temporaryDirectory().appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func fixtureBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("readers/" + name))))
    }

    func error(opening path: String) -> WeightsError? {
        do {
            _ = try WeightStore.open(path: path)
            return nil
        } catch let error as WeightsError {
            return error
        } catch {
            return nil
        }
    }

    @Test func missingFileIsUnreadable() {
        guard case .unreadable(let path, _) = error(opening: "/nonexistent/gpt.pth") else {
            Issue.record("expected .unreadable")
            return
        }
        #expect(path == "/nonexistent/gpt.pth")
    }

    @Test func emptyAndForeignFilesAreUnknown() throws {
        for (name, bytes) in [("empty.pth", [UInt8]()), ("noise.bin", (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }),
                              ("text.safetensors", Array("hello, this is not a checkpoint\n".utf8))] {
            let path = try scratch(name, bytes)
            #expect(error(opening: path) == .unknownFormat(path: path), "\(name)")
        }
    }

    @Test func legacyTorchSerializationIsExplained() throws {
        guard case .unsupported(_, let reason) = error(opening: Fixtures.path("readers/legacy.pth")) else {
            Issue.record("expected .unsupported")
            return
        }
        #expect(reason.contains("legacy"))
    }

    @Test func truncatedCheckpointsAreCorrupt() throws {
        for name in ["state_dict.pth", "tensors.safetensors", "tiny.tflite", "generator.pt"] {
            let bytes = try fixtureBytes(name)
            for keep in [bytes.count - 7, bytes.count / 2, 40] {
                let path = try scratch("cut-\(keep)-" + name, Array(bytes.prefix(keep)))
                let result = error(opening: path)
                guard case .corrupt(let reported, let reason)? = result else {
                    Issue.record("\(name) cut to \(keep) bytes: expected .corrupt, got \(String(describing: result))")
                    continue
                }
                #expect(reported == path)
                #expect(!reason.isEmpty)
            }
        }
    }

    @Test func safetensorsHeaderInconsistenciesAreNamed() throws {
        // A tensor whose byte range disagrees with its dtype and shape.
        let header = #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init) + Array(header.utf8)
        bytes += [UInt8](repeating: 0, count: 12)
        let path = try scratch("bad.safetensors", bytes)
        guard case .corrupt(_, let reason)? = error(opening: path) else {
            Issue.record("expected .corrupt")
            return
        }
        #expect(reason.contains("'w'"))
        // An unknown dtype.
        let header2 = #"{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}"#
        let bytes2 = withUnsafeBytes(of: UInt64(header2.utf8.count).littleEndian, Array.init) + Array(header2.utf8)
            + [UInt8](repeating: 0, count: 4)
        let path2 = try scratch("fp8.safetensors", bytes2)
        guard case .unsupported(_, let reason2)? = error(opening: path2) else {
            Issue.record("expected .unsupported")
            return
        }
        #expect(reason2.contains("F8_E4M3"))
    }

    @Test func missingKeyNamesTheKeyAndFile() throws {
        let store = try WeightStore.open(path: Fixtures.path("readers/generator.pt"))
        #expect(throws: WeightsError.missingTensor(key: "generator.nope", source: Fixtures.path("readers/generator.pt"))) {
            try store.tensor("generator.nope")
        }
    }

    @Test func errorDescriptionsAreReadable() {
        let text = WeightsError.keyMismatch(module: "BigVGAN", missing: ["a.weight"], unexpected: ["b.bias", "c"]).description
        #expect(text.contains("missing keys (1): a.weight"))
        #expect(text.contains("unexpected keys (2): b.bias, c"))
    }
}

/// Mutated checkpoints must load or fail with a `WeightsError`, never crash.
struct ReaderRobustnessTests {
    @Test(arguments: ["state_dict.pth", "nested.pth", "tensors.safetensors", "tiny.tflite", "generator.pt"])
    func mutatedFilesNeverCrash(_ name: String) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("readers/" + name))))
        let directory = try Fixtures.temporaryDirectory()
        var state: UInt64 = 0x1234_5678_9ABC_DEF1 ^ UInt64(original.count)
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        var loaded = 0, rejected = 0
        for iteration in 0..<400 {
            var bytes = original
            for _ in 0..<(1 + iteration % 4) {
                let position = next() % bytes.count
                bytes[position] = iteration % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: next())
            }
            let path = directory.appendingPathComponent("m\(iteration)").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let store = try WeightStore.open(path: path)
                for entry in store.entries { _ = try entry.load() }
                loaded += 1
            } catch is WeightsError {
                rejected += 1
            }
        }
        #expect(loaded + rejected == 400)
    }

    @Test func absurdShapesAreRejected() throws {
        let header = #"{"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}"#
        let bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init) + Array(header.utf8) + [0, 0, 0, 0]
        let url = try Fixtures.temporaryDirectory().appendingPathComponent("huge.safetensors")
        try Data(bytes).write(to: url)
        #expect(throws: WeightsError.self) { try WeightStore.open(path: url.path) }
    }
}
