import Foundation
import IndexTTSTensor
import IndexTTSTestSupport
import IndexTTSWeights
import Testing

/// Checkpoint mappings: read-only, borrowed by fp32 tensors without a copy, and able to give their resident pages
/// back to the system without invalidating the tensors that borrow them.
@Suite(.serialized) struct MappedFileResidencyTests {
    static let count = 2 * 1024 * 1024  // 8 MB of fp32

    static func writeCheckpoint() throws -> (path: String, values: [Float]) {
        var state: UInt32 = 7
        let values = (0..<count).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24) - 0.5
        }
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("big.safetensors").path
        try SafeTensorsWriter.write(["w": try Tensor(shape: [count / 1024, 1024], scalars: values)], to: path)
        return (path, values)
    }

    @Test func releasedPagesComeBackWithTheSameValues() throws {
        let (path, values) = try Self.writeCheckpoint()
        let store = try WeightStore.open(path: path)
        let tensor = try store.tensor("w")
        let files = MappedFile.liveMappings(of: path)
        try #require(files.count == 1)
        let file = files[0]
        #expect(tensor.scalars == values)  // reads every page
        let touched = try #require(file.residentBytes)
        #expect(touched >= 7 * 1024 * 1024, "resident \(touched) bytes after reading 8 MB")
        store.releaseResidentPages()
        let released = try #require(file.residentBytes)
        #expect(released < 1024 * 1024, "resident \(released) bytes after release")
        #expect(tensor.scalars == values)  // faulted back in from the file, unchanged
        #expect(try #require(file.residentBytes) >= 7 * 1024 * 1024)
        #expect(MappedFile.releaseResidentPages(of: path) == 1)
        #expect(try #require(file.residentBytes) < 1024 * 1024)
    }

    @Test func tensorsBorrowTheMappingAndKeepItAlive() throws {
        let (path, values) = try Self.writeCheckpoint()
        var tensor: Tensor? = try WeightStore.open(path: path).tensor("w")  // the store itself is gone
        #expect(MappedFile.liveMappings(of: path).count == 1)
        try {
            let file = try #require(MappedFile.liveMappings(of: path).first)
            // Borrowed, not copied: the tensor's elements are the mapping's bytes.
            let start = UnsafeRawPointer(tensor!.basePointer)
            let mapping = try file.pointer(at: 0, count: file.size)
            #expect(start >= mapping && start < mapping + file.size)
        }()
        #expect(tensor!.scalars == values)
        tensor = nil
        #expect(MappedFile.liveMappings(of: path).isEmpty)  // unmapped with the last tensor
    }

    @Test func mappingsAreReadOnly() throws {
        let (path, _) = try Self.writeCheckpoint()
        let store = try WeightStore.open(path: path)
        let file = try #require(MappedFile.liveMappings(of: path).first)
        let start = UInt(bitPattern: Int(bitPattern: try file.pointer(at: 0, count: 1)))
        // Read to end of file: /proc files report size 0, and a process with many mappings (the whole suite's
        // checkpoints, oneDNN's JIT code) has a maps file longer than a single read returns.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/maps"))
        defer { try? handle.close() }
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        // The region holding the mapping's first byte (the kernel may have merged it with a neighbouring mapping).
        let entry = try #require(maps.split(separator: "\n").first { line in
            let range = line.split(separator: " ").first?.split(separator: "-").compactMap { UInt($0, radix: 16) } ?? []
            return range.count == 2 && range[0] <= start && start < range[1]
        }, "no region of /proc/self/maps holds \(String(start, radix: 16))")
        // "r--p": a write through a borrowed tensor would fault instead of silently diverging from the file (and
        // being lost at the next releaseResidentPages()).
        #expect(entry.split(separator: " ")[1] == "r--p", "\(entry)")
        withExtendedLifetime((store, file)) {}  // optimised builds would otherwise unmap before /proc/self/maps is read
    }
}
