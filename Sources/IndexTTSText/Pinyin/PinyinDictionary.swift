import Foundation

/// The character and phrase readings of the `pypinyin` package (MIT licence), read from its `pinyin_dict.json`
/// and `phrases_dict.json` as the wheel ships them (the default-voice set-up fetches `pypinyin==0.55.0` into
/// `cache_hub/`). Readings are kept tone-marked (`zhōng`), first reading first, as pypinyin stores them.
public struct PinyinDictionary: Sendable {
    /// Code point → readings (`"行"` → `["xíng", "háng", …]`).
    public let characters: [UInt32: [String]]
    /// Phrase → one reading per character (the first of each, which is what non-heteronym conversion uses).
    public let phrases: [String: [String]]
    /// Every prefix of every phrase, for forward maximum matching.
    let prefixes: Set<String>

    public init(characters: [UInt32: [String]], phrases: [String: [String]]) {
        self.characters = characters
        self.phrases = phrases
        var prefixes = Set<String>()
        prefixes.reserveCapacity(phrases.count * 3)
        for phrase in phrases.keys {
            var prefix = ""
            for character in phrase {
                prefix.append(character)
                prefixes.insert(prefix)
            }
        }
        self.prefixes = prefixes
    }

    /// Reads `pinyin_dict.json` and `phrases_dict.json` from `directory` (the unpacked `pypinyin` package folder).
    /// - Throws: ``TextError/invalidDictionary(path:reason:)`` naming the file.
    public static func load(directory: String) throws -> PinyinDictionary {
        func object(_ name: String) throws -> (String, [String: Any]) {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TextError.invalidDictionary(path: path, reason: "missing or unreadable (run scripts/fetch-default-voice.sh)")
            }
            guard let value = try? JSONSerialization.jsonObject(with: data), let dictionary = value as? [String: Any] else {
                throw TextError.invalidDictionary(path: path, reason: "not a JSON object")
            }
            return (path, dictionary)
        }
        let (characterPath, rawCharacters) = try object("pinyin_dict.json")
        var characters: [UInt32: [String]] = [:]
        characters.reserveCapacity(rawCharacters.count)
        for (key, value) in rawCharacters {
            guard let code = UInt32(key), let readings = value as? String else {
                throw TextError.invalidDictionary(path: characterPath, reason: "entry \(key) is not code point → \"reading,…\"")
            }
            characters[code] = readings.split(separator: ",").map(String.init)
        }
        let (phrasePath, rawPhrases) = try object("phrases_dict.json")
        var phrases: [String: [String]] = [:]
        phrases.reserveCapacity(rawPhrases.count)
        for (key, value) in rawPhrases {
            guard let perCharacter = value as? [[String]], perCharacter.allSatisfy({ !$0.isEmpty }) else {
                throw TextError.invalidDictionary(path: phrasePath, reason: "entry \(key) is not a list of reading lists")
            }
            phrases[key] = perCharacter.map { $0[0] }
        }
        return PinyinDictionary(characters: characters, phrases: phrases)
    }
}
