import Foundation

/// The English rules of the reading layer, in priority order. Readings are English words and capital letters only.
enum EnglishReadings {
    static let num = #"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"#

    /// Unit symbols: (symbol, singular, plural).
    static let units: [(String, String, String)] = [
        ("km/h", "kilometer per hour", "kilometers per hour"), ("mph", "mile per hour", "miles per hour"),
        ("m/s", "meter per second", "meters per second"), ("mAh", "milliamp hour", "milliamp hours"),
        ("kWh", "kilowatt hour", "kilowatt hours"), ("Mbps", "megabit per second", "megabits per second"),
        ("Gbps", "gigabit per second", "gigabits per second"), ("GHz", "gigahertz", "gigahertz"), ("MHz", "megahertz", "megahertz"),
        ("kHz", "kilohertz", "kilohertz"), ("km²", "square kilometer", "square kilometers"), ("m²", "square meter", "square meters"),
        ("ft²", "square foot", "square feet"), ("°C", "degree Celsius", "degrees Celsius"), ("°F", "degree Fahrenheit", "degrees Fahrenheit"),
        ("℃", "degree Celsius", "degrees Celsius"), ("℉", "degree Fahrenheit", "degrees Fahrenheit"), ("㎡", "square meter", "square meters"),
        ("㎢", "square kilometer", "square kilometers"), ("㎏", "kilogram", "kilograms"), ("㎞", "kilometer", "kilometers"),
        ("㎝", "centimeter", "centimeters"), ("㎜", "millimeter", "millimeters"), ("㎖", "milliliter", "milliliters"),
        ("Ah", "amp hour", "amp hours"), ("kW", "kilowatt", "kilowatts"), ("kg", "kilogram", "kilograms"), ("km", "kilometer", "kilometers"),
        ("cm", "centimeter", "centimeters"), ("mm", "millimeter", "millimeters"), ("mg", "milligram", "milligrams"),
        ("ml", "milliliter", "milliliters"), ("mL", "milliliter", "milliliters"), ("ms", "millisecond", "milliseconds"),
        ("TB", "terabyte", "terabytes"), ("GB", "gigabyte", "gigabytes"), ("MB", "megabyte", "megabytes"), ("KB", "kilobyte", "kilobytes"),
        ("kB", "kilobyte", "kilobytes"), ("lbs", "pound", "pounds"), ("lb", "pound", "pounds"), ("oz", "ounce", "ounces"),
        ("L", "liter", "liters"), ("W", "watt", "watts"), ("V", "volt", "volts"), ("m", "meter", "meters"),
    ]
    static let unitTable = Dictionary(units.map { ($0.0, ($0.1, $0.2)) }, uniquingKeysWith: { a, _ in a })
    static let unitPattern = units.map(\.0).sorted { $0.count > $1.count }.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|")
    static let temperatureUnits: Set<String> = ["°C", "°F", "℃", "℉"]

    /// Capital letters spaced, digits one by one: `BA123` → `B A one two three`.
    static func spell(_ s: some StringProtocol, oh: Bool = true) -> String {
        var words: [String] = []
        for c in s {
            if let d = c.wholeNumberValue, c.isASCII { words.append(d == 0 ? (oh ? "oh" : "zero") : EnglishNumber.ones[d]) }
            else if c.isLetter { words.append(String(c).uppercased()) }
        }
        return words.joined(separator: " ")
    }

    /// `8` → `eight`, `8:30` → `eight thirty`, `8:05` → `eight oh five`, `8:00` → `eight`.
    static func clock(_ h: String, _ m: String?) -> String {
        var out = EnglishNumber.cardinal(h)
        if let m, let minute = Int(m), minute > 0 {
            out += minute < 10 ? " oh " + EnglishNumber.ones[minute] : " " + EnglishNumber.cardinal(m)
        }
        return out
    }

    static func unitWords(_ unit: String, number: String) -> String {
        guard let (one, many) = unitTable[unit] else { return unit }
        return number == "1" ? one : many
    }

    /// A Roman numeral's value, nil when the letters are not a well-formed numeral.
    static func roman(_ s: String) -> Int? {
        let values: [Character: Int] = ["I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000]
        var total = 0, previous = 0
        for c in s.reversed() {
            guard let v = values[c] else { return nil }
            if v < previous { total -= v } else { total += v; previous = v }
        }
        guard total > 0, total < 4000, romanNumeral(total) == s else { return nil }
        return total
    }

    static func romanNumeral(_ n: Int) -> String {
        let table: [(Int, String)] = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
                                      (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
        var n = n, out = ""
        for (v, s) in table { while n >= v { out += s; n -= v } }
        return out
    }

    static let currencies: [String: (String, String, String, String)] = [
        "$": ("dollar", "dollars", "cent", "cents"), "US$": ("US dollar", "US dollars", "cent", "cents"),
        "C$": ("Canadian dollar", "Canadian dollars", "cent", "cents"), "A$": ("Australian dollar", "Australian dollars", "cent", "cents"),
        "HK$": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
        "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", ""), "￥": ("yuan", "yuan", "", ""),
    ]

    /// Words naming a numeral after them (`Chapter IV`, `World War II`): the numeral is read as a cardinal.
    static let cardinalKeywords = ["Chapter", "Chapters", "Part", "Volume", "Book", "Act", "Scene", "Section", "Article", "Title", "Phase",
                                   "Stage", "Level", "Type", "Class", "Category", "Season", "Episode", "War", "Bowl", "Appendix", "Grade",
                                   "Schedule", "Annex", "Figure", "Table", "Psalm", "Canto", "Unit", "Step", "Round", "Mark", "Vol."]
    /// Names that take a regnal single-letter numeral (`George I`, `Henry V`); longer numerals follow any capitalised name.
    static let regnalNames: Set<String> = ["George", "Henry", "Edward", "Elizabeth", "Charles", "James", "William", "Richard", "Louis",
                                           "Philip", "Peter", "Catherine", "John", "Paul", "Benedict", "Leo", "Pius", "Gregory", "Innocent",
                                           "Alexander", "Nicholas", "Frederick", "Victor", "Ferdinand", "Isabella", "Mary", "Anne",
                                           "Felipe", "Juan", "Carlos", "Gustav", "Olaf", "Harald", "Haakon", "Christian", "Wilhelm",
                                           "Ludwig", "Otto", "Constantine", "Napoleon", "Alfonso", "Pedro", "Rama", "Francis", "Clement",
                                           "Urban", "Boniface", "Sixtus", "Ivan", "Selim", "Mehmed", "Ramesses", "Amenhotep", "Thutmose",
                                           "Darius", "Xerxes", "Ptolemy", "Cleopatra", "Stephen", "Malcolm", "David", "Robert", "Harold"]
    /// Capitalised words that are not names before a numeral.
    static let notNames: Set<String> = ["The", "A", "An", "And", "Or", "In", "On", "At", "To", "Of", "For", "With", "By", "From", "Is",
                                        "It", "He", "She", "We", "They", "You", "This", "That", "Then", "But", "If", "When", "So"]

    /// Abbreviations with a period: reading, and whether it only comes before a name or number (never ends a sentence).
    static let abbreviations: [String: (String, Bool)] = [
        "Mr": ("mister", true), "Mrs": ("missus", true), "Ms": ("miz", true), "Prof": ("professor", true), "Gen": ("general", true),
        "Capt": ("captain", true), "Sen": ("senator", true), "Rep": ("representative", true), "Gov": ("governor", true),
        "Lt": ("lieutenant", true), "Sgt": ("sergeant", true), "Rev": ("reverend", true), "Hon": ("honorable", true),
        "Col": ("colonel", true), "Maj": ("major", true), "Pres": ("president", true), "Mt": ("mount", true), "Ft": ("fort", true),
        "Jr": ("junior", false), "Sr": ("senior", false), "Ave": ("avenue", false), "Rd": ("road", false), "Blvd": ("boulevard", false),
        "Ln": ("lane", false), "Hwy": ("highway", false), "Apt": ("apartment", true), "Dept": ("department", false),
        "Inc": ("incorporated", false), "Ltd": ("limited", false), "Co": ("company", false), "Corp": ("corporation", false),
        "vs": ("versus", true), "etc": ("et cetera", false), "approx": ("approximately", true), "est": ("established", true),
        "Fig": ("figure", true), "Vol": ("volume", true), "Ch": ("chapter", true), "ext": ("extension", true), "Ext": ("extension", true),
        "Jan": ("January", true), "Feb": ("February", true), "Mar": ("March", true), "Apr": ("April", true), "Jun": ("June", true),
        "Jul": ("July", true), "Aug": ("August", true), "Sep": ("September", true), "Sept": ("September", true), "Oct": ("October", true),
        "Nov": ("November", true), "Dec": ("December", true), "Mon": ("Monday", false), "Tue": ("Tuesday", false),
        "Tues": ("Tuesday", false), "Wed": ("Wednesday", false), "Thu": ("Thursday", false), "Thurs": ("Thursday", false),
        "Fri": ("Friday", false), "Sat": ("Saturday", false), "Sun": ("Sunday", false), "hr": ("hour", false), "hrs": ("hours", false),
        "min": ("minutes", false), "mins": ("minutes", false), "sec": ("seconds", false), "yr": ("year", false), "yrs": ("years", false),
        "Tel": ("telephone", true), "vol": ("volume", true), "fig": ("figure", true), "dept": ("department", false), "tel": ("telephone", true), "Univ": ("university", false), "Bros": ("brothers", false),
    ]

    static let contextPattern = #"(?<![A-Za-z])(room|rm\.|ext\.|ext|extension|flight|gate|suite|apartment|apt\.|unit|pin|zip|zip code|account|ticket|seat|platform|locker|badge|employee|policy|invoice|confirmation|reference|tracking|code|train|bus|route|order|case|serial)(\s+(?:no\.|number|#)(?:\s+is)?\s*|\s*#\s*|\s+is\s+|\s*:\s*|\s+)([A-Z]{0,3}\d{3,}[A-Z]?)(?![\d,.]\d|[A-Za-z])"#

    static let rules: [ReadingLayer.Rule] = [
        .init("en.range", "(US\\$|[$€£])(\(num))\\s*(?:-|–|to)\\s*(?:US\\$|[$€£])?(\(num))(?:\\s?(thousand|million|billion|trillion)(?![A-Za-z]))?") { m in
            guard let names = currencies[m[1]!] else { return nil }
            let scale = m[4].map { " " + $0 } ?? ""
            return EnglishNumber.number(m[2]!) + " to " + EnglishNumber.number(m[3]!) + scale + " " + names.1
        },
        .init("en.range", "(?<![\\d.,])(\(num))%?\\s*(?:-|–|~|to)\\s*(\(num))%") { m in
            EnglishNumber.number(m[1]!) + " to " + EnglishNumber.number(m[2]!) + " percent"
        },
        .init("en.range", "(?<![A-Za-z\\d.,])(-?(?:\(num)))\\s?(\(unitPattern))?\\s*(?:-|–|~|to)\\s*(-?(?:\(num)))\\s?(\(unitPattern))(?![A-Za-z²\\d])") { m in
            let unit = m[4]!
            let a = EnglishNumber.number(m[1]!), b = EnglishNumber.number(m[3]!)
            let first = m[2].map { " " + unitWords($0, number: m[1]!) } ?? ""
            return a + first + " to " + b + " " + unitWords(unit, number: m[3]!)
        },
        .init("en.currency", "(US\\$|C\\$|A\\$|HK\\$|[$€£¥￥])\\s?(\(num))(?:\\s?(thousand|million|billion|trillion|bn|k|K|M|B)(?![A-Za-z]))?") { m in
            guard let names = currencies[m[1]!] else { return nil }
            let amount = m[2]!.replacingOccurrences(of: ",", with: "")
            if let scale = m[3] {
                let word = ["k": "thousand", "K": "thousand", "M": "million", "B": "billion", "bn": "billion"][scale] ?? scale
                return EnglishNumber.number(amount) + " " + word + " " + names.1
            }
            let parts = amount.split(separator: ".", omittingEmptySubsequences: false)
            let whole = String(parts[0].isEmpty ? "0" : parts[0])
            var cents = parts.count > 1 ? String(parts[1]) : ""
            if cents.count == 1 { cents += "0" }
            if cents.count > 2 || names.2.isEmpty && !cents.isEmpty {
                return EnglishNumber.number(amount) + " " + names.1
            }
            var words: [String] = []
            let wholeValue = Int(whole) ?? 0
            let centValue = Int(cents) ?? 0
            if wholeValue > 0 || centValue == 0 { words.append(EnglishNumber.cardinal(whole) + " " + (wholeValue == 1 ? names.0 : names.1)) }
            if centValue > 0 { words.append(EnglishNumber.cardinal(cents) + " " + (centValue == 1 ? names.2 : names.3)) }
            return words.joined(separator: " ")
        },
        .init("en.range", #"(?<![\d:])(\d{1,2})(?::(\d{2}))?\s*(?:([AaPp])\.?\s?[Mm]\.?)?\s*(?:-|–|—|~|to)\s*(\d{1,2})(?::(\d{2}))?\s*([AaPp])\.?\s?[Mm]\b\.?"#) { m in
            let right = clock(m[4]!, m[5]) + " " + m[6]!.uppercased() + "M"
            let left = clock(m[1]!, m[2]) + (m[3].map { " " + $0.uppercased() + "M" } ?? "")
            return left + " to " + right + (m.whole.hasSuffix(".") && m.endsSentence ? "." : "")
        },
        .init("en.phone", #"(?<![\d-])(?:(1)[-. ])?(?:\((\d{3})\)\s?|(\d{3})[-. ])(\d{3})[-. ](\d{4})(?![\d-])"#) { m in
            var groups: [String] = []
            if m[1] != nil { groups.append("one") }
            let area = m[2] ?? m[3]!
            groups.append(["800", "888", "877", "866", "855", "844", "833"].contains(area) && m[1] != nil
                          ? EnglishNumber.ones[Int(String(area.first!))!] + " hundred" : spell(area))
            groups.append(spell(m[4]!))
            groups.append(spell(m[5]!))
            return groups.joined(separator: " ")
        },
        .init("en.phone", #"(?<![\d-])(\d{3})-(\d{4})(?![\d-])"#) { m in spell(m[1]!) + " " + spell(m[2]!) },
        .init("en.digits", contextPattern, caseInsensitive: true) { m in
            let word = m[1]!
            let expanded = ["rm.": "room", "ext.": "extension", "ext": "extension", "apt.": "apartment"][word.lowercased()] ?? word
            var joiner = m[2]!
            if joiner.contains("#") || joiner.lowercased().contains("no.") {
                joiner = " number " + (joiner.lowercased().contains(" is") ? "is " : "")
            }
            let code = m[3]!
            if ["order", "case", "route", "bus", "unit", "code", "account"].contains(word.lowercased()) && joiner == " " { return nil }
            return expanded + joiner + spell(code)
        },
        .init("en.number", #"(?<![A-Za-z])(?:No|no|NO|Nos|nos)\.\s?(\d+)|#(\d+)(?![\d,.]\d)"#) { m in "number " + EnglishNumber.cardinal(m[1] ?? m[2]!) },
        .init("en.abbreviation", #"(?<![A-Za-z])pp\.\s?(\d+)\s*(?:-|–)\s*(\d+)"#) { m in
            "pages " + EnglishNumber.cardinal(m[1]!) + " to " + EnglishNumber.cardinal(m[2]!)
        },
        .init("en.abbreviation", #"(?<![A-Za-z])(p|pp)\.\s?(\d+)"#) { m in
            (m[1] == "p" ? "page " : "pages ") + EnglishNumber.cardinal(m[2]!)
        },
        .init("en.keep", #"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+"#) { $0.whole },
        .init("en.version", #"(?<![A-Za-z\d.])[vV](\d+(?:\.\d+)+)(?![\d.]\d)"#) { m in
            "version " + m[1]!.split(separator: ".").map { EnglishNumber.cardinal($0) }.joined(separator: " point ")
        },
        .init("en.version", #"(?<![\d.])(\d+)\.(\d+)\.(\d+)(?![\d.]\d)"#) { m in
            [m[1]!, m[2]!, m[3]!].map { EnglishNumber.cardinal($0) }.joined(separator: " point ")
        },
        .init("en.code", #"(?<![A-Za-z])(Boeing|Airbus|A)\s?(\d)(\d{2})(?![\d.,]\d|[A-Za-z])"#) { m in
            let tail = m[3]!.hasPrefix("0") ? spell(m[3]!) : EnglishNumber.cardinal(m[3]!)
            return m[1]! + " " + EnglishNumber.ones[Int(m[2]!)!] + " " + tail
        },
        .init("en.digits", #"(?<![\d,.$£€])(911|999)(?![\d,.]\d)"#) { m in spell(m[1]!) },
        .init("en.digits", #"(?<![A-Za-z])(call|dial|text|phone|ring)\s+(\d{3,})(?![\d,.]\d)"#, caseInsensitive: true) { m in
            m[1]! + " " + spell(m[2]!)
        },
        .init("en.range", #"(?<![\d.,:$£€-])(\d+(?:\.\d+)?)\s*(?:-|–)\s*(\d+(?:\.\d+)?)(?![\d.,:]\d|\s?%|\s?[AaPp]\.?[Mm]\b|-)"#) { m in
            guard let a = Double(m[1]!), let b = Double(m[2]!), a < b, !m[2]!.hasPrefix("0") || m[2]!.hasPrefix("0.") else { return nil }
            // Two years (1939-1945, 2019-2020) are read as years.
            if m[1]!.count == 4, m[2]!.count == 4, (1100...2099).contains(Int(a)), (1100...2099).contains(Int(b)) {
                return EnglishNumber.year(m[1]!) + " to " + EnglishNumber.year(m[2]!)
            }
            return EnglishNumber.number(m[1]!) + " to " + EnglishNumber.number(m[2]!)
        },
        .init("en.decade", #"(?<![\w'’])(?:['’](\d)0s|(1[1-9]|20)(\d)0s|([2-9])0s)(?![A-Za-z])"#) { m in
            if let d = m[1] ?? m[4] { return EnglishNumber.plural(EnglishNumber.tens[Int(d)!]) }
            let year = m[2]! + m[3]! + "0"
            if m[3] == "0" { return EnglishNumber.plural(EnglishNumber.year(year)) }  // 1900s, 2000s
            return EnglishNumber.plural(EnglishNumber.year(year))
        },
        .init("en.roman", "(?<![A-Za-z])(\(cardinalKeywords.map { NSRegularExpression.escapedPattern(for: $0) }.joined(separator: "|")))\\s+([IVXLCDM]+)(?![A-Za-z0-9])") { m in
            guard let value = roman(m[2]!) else { return nil }
            let keyword = m[1] == "Vol." ? "Volume" : m[1]!
            return keyword + " " + EnglishNumber.cardinal(String(value))
        },
        .init("en.roman", #"(?<![A-Za-z])([A-Z][a-z]+)\s+([IVXL]+)(?![A-Za-z0-9'’])"#) { m in
            let name = m[1]!, numeral = m[2]!
            guard let value = roman(numeral), !notNames.contains(name) else { return nil }
            if numeral.count == 1 && !regnalNames.contains(name) { return nil }
            return name + " the " + EnglishNumber.ordinal(EnglishNumber.cardinal(String(value)))
        },
        // WeTextProcessing's whitelist says "Television".
        .init("en.abbreviation", #"(?<![A-Za-z])TVs?(?![A-Za-z])"#) { m in m.whole == "TVs" ? "T Vs" : "T V" },
        .init("en.abbreviation", #"(?<![A-Za-z.])(e\.g\.|i\.e\.|vs\.?|Ph\.D\.)(?![A-Za-z])"#) { m in
            switch m[1]! {
            case "e.g.": return "for example"
            case "i.e.": return "that is"
            case "Ph.D.": return "P H D" + (m.endsSentence && m.after(1).isEmpty ? "." : "")
            default: return "versus"
            }
        },
        .init("en.abbreviation", #"(?<![A-Za-z.])(Dr|St)\.(?=\s|,|$)"#) { m in
            let previous = m.before(20).split(separator: " ").last.map(String.init) ?? ""
            let next = m.after(20).drop { $0 == " " }
            let afterName = (previous.first?.isUppercase ?? false) || (previous.first?.isNumber ?? false)
            let beforeName = m.after(1) == " " && (next.first?.isUppercase ?? false)
            let word: String
            if m[1] == "Dr" { word = afterName && !beforeName ? "Drive" : "Doctor" } else { word = afterName || !beforeName ? "Street" : "Saint" }
            let title = (word == "Doctor" || word == "Saint")
            return word + (!title && m.endsSentence ? "." : "")
        },
        .init("en.abbreviation", "(?<![A-Za-z.])(\(abbreviations.keys.sorted { $0.count > $1.count }.joined(separator: "|")))\\.(?=\\s|,|;|$)") { m in
            guard let (reading, beforeOnly) = abbreviations[m[1]!] else { return nil }
            return reading + (!beforeOnly && m.endsSentence ? "." : "")
        },
        .init("en.code", #"(?<![A-Za-z0-9$£€.-])([A-Z]{1,3})(\d{2,5})(?![\d.,]\d|[A-Za-z\d])"#) { m in
            let letters = m[1]!, digits = m[2]!
            if unitTable[letters] != nil { return nil }
            let said = digits.count >= 3 ? spell(digits) : EnglishNumber.cardinal(digits)
            return spell(letters) + " " + said
        },
        .init("en.unit", "(?<![A-Za-z\\d.])(-|−|minus )?(\(num))\\s?(\(unitPattern))(?![A-Za-z²\\d])") { m in
            let unit = m[3]!, number = m[2]!
            let sign = m[1] != nil ? "minus " : ""
            return sign + EnglishNumber.number(number) + " " + unitWords(unit, number: number)
        },
        .init("en.grouped", #"(?<![\d,.])(-?)(\d{1,3}(?:,\d{3})+(?:\.\d+)?)(%)?(?![\d,]\d)"#) { m in
            (m[1] == "-" ? "minus " : "") + EnglishNumber.number(m[2]!) + (m[3] != nil ? " percent" : "")
        },
        .init("en.score", #"(?<![\d:.])(\d{1,2})\s?(-|–|:)\s?(\d{1,2})(?![\d:.]\d|\s?[AaPp]\.?[Mm])"#) { m in
            let context = m.before(40).lowercased()
            let words = ["won", "beat", "lost", "defeated", "score", "scored", "drew", "tied", "lead", "led", "victory", "win", "draw",
                         "final", "edged", "loss", "defeat", "match", "game"]
            guard words.contains(where: { context.contains($0) }), !(m[2] == ":" && m[3]!.count == 2) else { return nil }
            return EnglishNumber.cardinal(m[1]!) + " to " + EnglishNumber.cardinal(m[3]!)
        },
        .init("en.time", #"(?<![\d:.])(\d{1,2}):(\d{2})(?![\d:])(?:\s?([AaPp])\.?\s?[Mm]\b(\.?))?"#) { m in
            guard let h = Int(m[1]!), h <= 24, let minute = Int(m[2]!), minute < 60 else { return nil }
            var out = h == 0 && minute == 0 ? "zero hundred" : clock(m[1]!, m[2])
            if h > 0 && minute == 0 && m[3] == nil { out += " o'clock" }
            if let p = m[3] { out += " " + p.uppercased() + "M" + (m[4] == "." && m.endsSentence ? "." : "") }
            return out
        },
    ]
}
