import Foundation
import SwiftProtobuf

/// A SentencePiece BPE model read from a `.model` file (the `ModelProto` protobuf), encoding exactly as the
/// sentencepiece library does: normalisation (precompiled character map, whitespace rules), user-defined pieces
/// kept whole, then greedy merging of the adjacent pair with the highest score (ties: leftmost first), unused
/// pieces re-split along their merges, unknown pieces mapped to `<unk>` (or to byte pieces with byte fallback).
public struct SentencePieceModel: Sendable {
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown, control, userDefined, unused, byte
    }

    /// Vocabulary in id order.
    public let pieces: [String]
    public let scores: [Float]
    public let types: [PieceType]
    public let unknownID: Int
    public let bosID: Int
    public let eosID: Int
    public let byteFallback: Bool
    /// Pieces the merge search may form (normal, user-defined and unused pieces).
    private let mergeable: [String: Int]
    /// Every piece, for id look-up.
    private let ids: [String: Int]
    private let normalizer: SentencePieceNormalizer
    private let userDefined: PrefixMatcher

    /// Reads a `.model` file.
    /// - Throws: ``TextError/invalidModel(path:reason:)`` when it is not a SentencePiece BPE model.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TextError.invalidModel(path: path, reason: "cannot be read")
        }
        let proto: SPModelProto
        do {
            proto = try SPModelProto(serializedBytes: data)
        } catch {
            throw TextError.invalidModel(path: path, reason: "not a ModelProto (\(error))")
        }
        try self.init(proto: proto, path: path)
    }

    /// Reads the bytes of a `.model` file already in memory; `name` stands for the path in errors.
    public init(serializedBytes bytes: [UInt8], name: String) throws {
        let proto: SPModelProto
        do {
            proto = try SPModelProto(serializedBytes: bytes)
        } catch {
            throw TextError.invalidModel(path: name, reason: "not a ModelProto (\(error))")
        }
        try self.init(proto: proto, path: name)
    }

    init(proto: SPModelProto, path: String) throws {
        guard !proto.pieces.isEmpty else { throw TextError.invalidModel(path: path, reason: "no pieces") }
        let modelType = proto.trainerSpec.modelType
        guard modelType == .bpe else {
            throw TextError.invalidModel(path: path, reason: "model type \(modelType) (only BPE models are supported)")
        }
        pieces = proto.pieces.map(\.piece)
        scores = proto.pieces.map(\.score)
        types = proto.pieces.map { PieceType(rawValue: $0.type.rawValue) ?? .normal }
        var mergeable: [String: Int] = [:], ids: [String: Int] = [:]
        var userPieces: [String] = []
        for (i, piece) in pieces.enumerated() {
            if ids[piece] == nil { ids[piece] = i }
            switch types[i] {
            case .normal, .unused: mergeable[piece] = i
            case .userDefined:
                mergeable[piece] = i
                userPieces.append(piece)
            default: break
            }
        }
        self.mergeable = mergeable
        self.ids = ids
        guard let unknown = types.firstIndex(of: .unknown) else {
            throw TextError.invalidModel(path: path, reason: "no <unk> piece")
        }
        unknownID = unknown
        bosID = ids[proto.trainerSpec.bosPiece] ?? -1
        eosID = ids[proto.trainerSpec.eosPiece] ?? -1
        byteFallback = proto.trainerSpec.byteFallback
        userDefined = PrefixMatcher(userPieces)
        normalizer = try SentencePieceNormalizer(spec: proto.hasNormalizerSpec ? proto.normalizerSpec : nil,
                                                 userDefined: userDefined, path: path)
    }

    public var count: Int { pieces.count }

    /// The id of `piece`, or ``unknownID``.
    public func id(of piece: String) -> Int { ids[piece] ?? unknownID }

    /// Normalised text as the encoder sees it ("▁" for spaces).
    public func normalize(_ text: String) -> String { String(decoding: normalizer.normalize(text), as: UTF8.self) }

    /// Piece strings of `text`.
    public func encodeAsPieces(_ text: String) -> [String] { encodeSymbols(text).map(\.piece) }

    /// Ids of `text`.
    public func encode(_ text: String) -> [Int] { encodeSymbols(text).flatMap(\.ids) }

    /// Joins pieces and turns "▁" back into spaces (control pieces are dropped, leading space removed).
    public func decode(_ ids: [Int]) -> String {
        var text = ""
        for id in ids where id >= 0 && id < pieces.count && types[id] != .control {
            text += types[id] == .unknown ? " \u{2047} " : pieces[id]
        }
        let spaced = text.replacingOccurrences(of: "\u{2581}", with: " ")
        return spaced.hasPrefix(" ") ? String(spaced.dropFirst()) : spaced
    }

    private struct Symbol {
        var start: Int
        var length: Int
        var previous: Int
        var next: Int
        var frozen: Bool
    }

    private struct Pair: Comparable {
        let score: Float
        let left: Int
        let right: Int
        let length: Int
        /// Max-heap order: higher score first, then the leftmost pair.
        static func < (a: Pair, b: Pair) -> Bool { a.score < b.score || (a.score == b.score && a.left > b.left) }
    }

    private func encodeSymbols(_ text: String) -> [(piece: String, ids: [Int])] {
        let normalized = normalizer.normalize(text)
        guard !normalized.isEmpty else { return [] }
        return normalized.withUnsafeBufferPointer { bytes -> [(piece: String, ids: [Int])] in
            // One symbol per character (user-defined pieces whole and frozen).
            var symbols: [Symbol] = []
            var position = 0
            while position < bytes.count {
                var length: Int
                var frozen = false
                if let match = userDefined.longestMatch(bytes, from: position) {
                    length = match
                    frozen = true
                } else {
                    length = UTF8Scalar.length(bytes, at: position)
                    if length == 0 { length = 1 }
                }
                symbols.append(Symbol(start: position, length: length, previous: symbols.count - 1,
                                      next: position + length < bytes.count ? symbols.count + 1 : -1, frozen: frozen))
                position += length
            }
            func string(_ start: Int, _ length: Int) -> String {
                String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(start + length)]), as: UTF8.self)
            }
            var heap = Heap<Pair>()
            var reverseMerges: [String: (String, String)] = [:]
            func addPair(_ left: Int, _ right: Int) {
                guard left >= 0, right >= 0, !symbols[left].frozen, !symbols[right].frozen else { return }
                let length = symbols[left].length + symbols[right].length
                guard let id = mergeable[string(symbols[left].start, length)] else { return }
                heap.push(Pair(score: scores[id], left: left, right: right, length: length))
            }
            for i in 1..<symbols.count { addPair(i - 1, i) }
            while let top = heap.pop() {
                let left = symbols[top.left], right = symbols[top.right]
                // Stale pairs: a side was merged away or changed since the pair was queued.
                guard left.length > 0, right.length > 0, left.length + right.length == top.length,
                      left.next == top.right else { continue }
                let merged = string(left.start, top.length)
                if let id = mergeable[merged], types[id] == .unused {
                    reverseMerges[merged] = (string(left.start, left.length), string(right.start, right.length))
                }
                symbols[top.left].length = top.length
                symbols[top.left].next = right.next
                if right.next >= 0 { symbols[right.next].previous = top.left }
                symbols[top.right].length = 0
                addPair(symbols[top.left].previous, top.left)
                addPair(top.left, symbols[top.left].next)
            }
            var output: [(piece: String, ids: [Int])] = []
            func emit(_ piece: String) {
                guard let id = ids[piece] else {
                    if byteFallback {
                        // One byte piece per UTF-8 byte.
                        for byte in piece.utf8 {
                            let name = String(format: "<0x%02X>", byte)
                            output.append((name, [ids[name] ?? unknownID]))
                        }
                    } else if let last = output.last, last.ids == [unknownID] {
                        // Consecutive unknown pieces become one, as sentencepiece reports them.
                        output[output.count - 1].piece += piece
                    } else {
                        output.append((piece, [unknownID]))
                    }
                    return
                }
                // Unused pieces are split back along the merge that formed them.
                if types[id] == .unused, let (left, right) = reverseMerges[piece] {
                    emit(left)
                    emit(right)
                } else {
                    output.append((piece, [id]))
                }
            }
            var index = 0
            while index != -1 {
                emit(string(symbols[index].start, symbols[index].length))
                index = symbols[index].next
            }
            return output
        }
    }
}

/// A binary max-heap.
struct Heap<Element: Comparable> {
    private var items: [Element] = []

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[parent] < items[child] else { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var largest = parent
            if left < items.count && items[largest] < items[left] { largest = left }
            if right < items.count && items[largest] < items[right] { largest = right }
            if largest == parent { break }
            items.swapAt(parent, largest)
            parent = largest
        }
        return top
    }
}
