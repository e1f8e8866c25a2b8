import Foundation
import IndexTTSAudio
import IndexTTSFuzzing
import IndexTTSModels
import IndexTTSServer
import IndexTTSText
import IndexTTSWeights
import Testing

/// What a fuzzer finds first: inputs of a few bytes that claim, expand to or nest into more than a process can
/// hold. Each is refused with a typed error naming the limit, before anything large is allocated.
@Suite struct ResourceLimitTests {
    // MARK: audio

    /// A 52-byte WAV whose RIFF and data chunks claim 4 GB of 48 kHz stereo samples.
    @Test func wavHeaderClaimingFourGigabytesIsRefusedWithoutAllocatingThem() throws {
        let url = FuzzResources.repositoryRoot.appendingPathComponent("Tests/Fixtures/fuzz-seeds/audio/huge_header.wav")
        let bytes = try [UInt8](Data(contentsOf: url))
        #expect(bytes.count < 64)
        // libsndfile reads the 8 bytes present (an unknown-length streaming header); nothing sized by the claim.
        let audio = try? AudioDecoder.decode(bytes: bytes, name: "huge.wav")
        #expect((audio?.samples.count ?? 0) <= 4)
        #expect(throws: AudioError.silent(path: "huge.wav")) {
            _ = try AudioDecoder.decode(bytes: bytes, name: "huge.wav", requireSound: true)
        }
    }

    @Test func decodedLengthIsBoundedForEveryCodec() throws {
        let seeds = FuzzResources.repositoryRoot.appendingPathComponent("Tests/Fixtures/fuzz-seeds/audio")
        for name in ["tiny.wav", "tiny.aac"] {
            let bytes = try [UInt8](Data(contentsOf: seeds.appendingPathComponent(name)))
            #expect(try AudioDecoder.decode(bytes: bytes, name: name).samples.count > 50)
            #expect(throws: AudioError.tooLong(path: name, limitSamples: 50)) {
                _ = try AudioDecoder.decode(bytes: bytes, name: name, maximumSamples: 50)
            }
        }
        // A long FLAC of silence compresses to a few bytes per 4608 samples: the bound is on the output.
        let silence = try AudioEncoder.encode([Float](repeating: 0, count: 480_000), sampleRate: 48_000, format: .flac)
        #expect(silence.count < 20_000)
        #expect(throws: AudioError.tooLong(path: "bomb.flac", limitSamples: 100_000)) {
            _ = try AudioDecoder.decode(bytes: silence, name: "bomb.flac", maximumSamples: 100_000)
        }
    }

    // MARK: PyTorch ZIP + pickle

    /// A `torch.save`-shaped archive of stored members (`method` 8 marks one as deflated).
    static func zip(_ members: [(name: String, data: [UInt8], method: UInt16, claimedSize: UInt32?)]) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var out: [UInt8] = [], central: [UInt8] = []
        for m in members {
            let offset = UInt32(out.count), name = Array(m.name.utf8)
            let size = m.claimedSize ?? UInt32(m.data.count)
            let common = u16(20) + u16(0) + u16(m.method) + u16(0) + u16(0) + u32(0) + u32(UInt32(m.data.count)) + u32(size)
                + u16(UInt16(name.count)) + u16(0)
            out += u32(0x0403_4b50) + common + name + m.data
            central += u32(0x0201_4b50) + u16(20) + common + u16(0) + u16(0) + u16(0) + u32(0) + u32(offset) + name
        }
        let directoryOffset = UInt32(out.count)
        out += central
        out += u32(0x0605_4b50) + u16(0) + u16(0) + u16(UInt16(members.count)) + u16(UInt16(members.count))
            + u32(UInt32(central.count)) + u32(directoryOffset) + u16(0)
        return out
    }

    static func checkpoint(pickle: [UInt8], storage: [UInt8] = []) -> MappedFile {
        MappedFile(bytes: zip([("archive/data.pkl", pickle, 0, nil), ("archive/data/0", storage, 0, nil)]), name: "hostile.pth")
    }

    static func corruptReason(_ file: MappedFile) -> String? {
        do {
            _ = try PyTorchCheckpointReader.read(file)
            return nil
        } catch let WeightsError.corrupt(_, reason) {
            return reason
        } catch {
            Issue.record("expected WeightsError.corrupt, got \(error)")
            return nil
        }
    }

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func text(_ s: String) -> [UInt8] { Array(s.utf8) }
    static func unicode(_ s: String) -> [UInt8] { [0x58] + le(UInt32(s.utf8.count)) + text(s) }

    /// Opcodes that claim 10⁹ elements (bytes, a long, a tensor view repeating one float) cost nothing to refuse.
    @Test func picklesClaimingBillionElementContainersAreRefused() throws {
        let bytes8 = [0x80, 0x04, 0x8E] + Self.le(UInt64(1_000_000_000)) + [0x2E]
        #expect(Self.corruptReason(Self.checkpoint(pickle: bytes8))?.contains("unexpected end of data") == true)
        let long4 = [0x80, 0x02, 0x8B] + Self.le(Int32(1_000_000_000)) + [0x2E]
        #expect(Self.corruptReason(Self.checkpoint(pickle: long4))?.contains("unexpected end of data") == true)

        // _rebuild_tensor_v2(storage of 1 float, 0, (10⁹,), (0,)): a broadcast view 10⁹ times its storage.
        var view: [UInt8] = [0x80, 0x02] + Self.text("ctorch._utils\n_rebuild_tensor_v2\n") + [0x28]
        view += [0x28] + Self.unicode("storage") + Self.text("ctorch\nFloatStorage\n") + Self.unicode("0") + Self.unicode("cpu")
            + [0x4B, 0x01, 0x74, 0x51]
        view += [0x4B, 0x00, 0x4A] + Self.le(Int32(1_000_000_000)) + [0x85, 0x4B, 0x00, 0x85, 0x89, 0x74, 0x52, 0x2E]
        let reason = Self.corruptReason(Self.checkpoint(pickle: view, storage: [0, 0, 0, 0]))
        #expect(reason?.contains("repeats its storage") == true, "\(reason ?? "accepted")")
    }

    @Test func pickleNestingCyclesAndSharedSubtreesAreBounded() throws {
        // A million nested one-tuples: releasing them recursively would overflow the stack.
        let deep: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]
        #expect(Self.corruptReason(Self.checkpoint(pickle: deep))?.contains("nested deeper than") == true)
        // A list appended to itself.
        let cycle: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        #expect(Self.corruptReason(Self.checkpoint(pickle: cycle))?.contains("contains itself") == true)
        // 64 levels of (x, x) through the memo: 2⁶⁴ paths for the key walk in 322 bytes.
        var shared: [UInt8] = [0x80, 0x02, 0x4E]
        for _ in 0..<64 { shared += [0x71, 0x00, 0x68, 0x00, 0x86] }
        shared += [0x2E]
        #expect(Self.corruptReason(Self.checkpoint(pickle: shared))?.contains("container paths") == true)
        // The same shapes, shallow enough, are fine.
        var fine: [UInt8] = [0x80, 0x02, 0x4E]
        for _ in 0..<10 { fine += [0x71, 0x00, 0x68, 0x00, 0x86] }
        fine += [0x2E]
        #expect(try PyTorchCheckpointReader.read(Self.checkpoint(pickle: fine)).entries.isEmpty)
    }

    /// A deflated member claiming 4 GB is refused as compressed before anything is inflated; a stored one claiming
    /// more than the file holds is corrupt.
    @Test func zipBombsAreRefused() throws {
        let bomb = MappedFile(bytes: Self.zip([("archive/data.pkl", [0x03, 0x00], 8, 0xFFFF_FFF0)]), name: "bomb.pth")
        #expect(throws: WeightsError.self) { _ = try PyTorchCheckpointReader.read(bomb) }
        do { _ = try PyTorchCheckpointReader.read(bomb) } catch let WeightsError.unsupported(_, reason) {
            #expect(reason.contains("compressed"))
        }
        let claims = MappedFile(bytes: Self.zip([("archive/data.pkl", [0x4E, 0x2E], 0, 0xFFFF_FFF0)]), name: "claims.pth")
        #expect(Self.corruptReason(claims)?.contains("beyond the file size") == true)
    }

    // MARK: JSON and YAML

    @Test func deeplyNestedJSONBodiesAre400s() throws {
        let deep = Array(#"{"input":"#.utf8) + [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        for body in [deep, [UInt8](repeating: UInt8(ascii: "["), count: 100_000)] {
            #expect(throws: APIError.self) { _ = try RequestParsing.openAISpeech(body: body) }
            do { _ = try RequestParsing.nativeSpeech(body: body, contentType: "application/json", allowList: true) } catch let e as APIError {
                #expect(e.status.code == 400)
            }
        }
    }

    @Test func yamlAliasBombsAndDeepNestingAreRefused() throws {
        var laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 { laughs += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        laughs += "gpt: *a9\n"
        #expect(YAMLLimits.problem(in: laughs) != nil)
        #expect(throws: ModelError.self) { _ = try UnifiedVoiceConfiguration.parse(yaml: laughs) }
        #expect(throws: TextError.self) { _ = try Glossary.parse(yaml: laughs) }
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: ModelError.self) { _ = try UnifiedVoiceConfiguration.parse(yaml: "gpt: " + deep) }
        #expect(throws: TextError.self) { _ = try Glossary.parse(yaml: deep) }
    }
}
