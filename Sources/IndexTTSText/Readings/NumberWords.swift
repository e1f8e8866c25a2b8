/// Numbers written out as words, the way the reading layer says them: Chinese (`一千五百`, `二三零五`) and English
/// (`one thousand five hundred`, `nineteen seventy`, `oh one seven eight`). Inputs are ASCII digit strings; values
/// past what the readers know (more than 16 integer digits) come back digit by digit rather than wrong.
enum ChineseNumber {
    static let digits: [Character] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"]

    /// Each digit on its own: `2305` → `二三零五`.
    static func digitByDigit(_ s: some StringProtocol) -> String {
        String(s.compactMap { $0.wholeNumberValue.map { digits[$0] } })
    }

    /// A whole number: `1500` → `一千五百`, `10` → `十`, `2000` → `两千`, `1005` → `一千零五`. Separators (`,`) are ignored.
    static func cardinal(_ raw: some StringProtocol) -> String {
        var d = Array(raw.compactMap(\.wholeNumberValue).drop { $0 == 0 })
        if d.isEmpty { return "零" }
        if d.count > 16 { return digitByDigit(raw) }
        // Groups of four from the right, each read with 千百十, followed by 万 / 亿 / 万亿.
        let groupUnits = ["", "万", "亿", "万亿"]
        var groups: [[Int]] = []
        while !d.isEmpty {
            let take = d.count % 4 == 0 ? 4 : d.count % 4
            groups.append(Array(repeating: 0, count: 4 - take) + d.prefix(take))
            d.removeFirst(take)
        }
        var out = ""
        var needZero = false
        for (gi, g) in groups.enumerated() {
            if g.allSatisfy({ $0 == 0 }) { needZero = !out.isEmpty; continue }
            if !out.isEmpty && (needZero || g[0] == 0) { out += "零" }
            needZero = false
            let unit = groupUnits[groups.count - 1 - gi]
            out += group(g, first: out.isEmpty, hasUnit: !unit.isEmpty) + unit
        }
        return out
    }

    static func group(_ g: [Int], first: Bool, hasUnit: Bool) -> String {
        let places = ["千", "百", "十", ""]
        var piece = "", zero = false, started = false
        for (pi, digit) in g.enumerated() {
            if digit == 0 { zero = started; continue }
            if zero { piece += "零"; zero = false }
            var word = String(digits[digit])
            if first && !started {
                if digit == 2 && (pi <= 1 || (pi == 3 && hasUnit)) { word = "两" }  // 两千, 两百, 两万
                if digit == 1 && pi == 2 { word = "" }  // 十五, 十万 rather than 一十五
            }
            piece += word + places[pi]
            started = true
        }
        return piece
    }

    /// Digits after a decimal point, each on its own: `.25` → `点二五`.
    static func decimal(_ raw: some StringProtocol) -> String {
        let s = String(raw.filter { $0 != "," })
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        var out = cardinal(parts[0].isEmpty ? "0" : parts[0])
        if parts.count > 1 && !parts[1].isEmpty { out += "点" + digitByDigit(parts[1]) }
        return out
    }

    /// `-5` → `负五`, `3.5` → `三点五`.
    static func number(_ raw: String) -> String {
        var s = Substring(raw)
        var sign = ""
        if let first = s.first, "-−–".contains(first) { sign = "负"; s = s.dropFirst() }
        return sign + decimal(s)
    }
}

enum EnglishNumber {
    static let ones = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                       "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
    static let tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    static let scales = ["", "thousand", "million", "billion", "trillion", "quadrillion"]

    /// Each digit on its own; zero as `oh` (phone, room and extension numbers) or `zero`.
    static func digitByDigit(_ s: some StringProtocol, oh: Bool = true) -> String {
        s.compactMap(\.wholeNumberValue).map { $0 == 0 ? (oh ? "oh" : "zero") : ones[$0] }.joined(separator: " ")
    }

    static func belowThousand(_ n: Int) -> String {
        var words: [String] = []
        if n >= 100 { words.append(ones[n / 100]); words.append("hundred") }
        let rest = n % 100
        if rest >= 20 {
            words.append(rest % 10 == 0 ? tens[rest / 10] : tens[rest / 10] + " " + ones[rest % 10])
        } else if rest > 0 {
            words.append(ones[rest])
        }
        return words.joined(separator: " ")
    }

    /// A whole number: `1500` → `one thousand five hundred` (separators ignored).
    static func cardinal(_ raw: some StringProtocol) -> String {
        // ASCII digits only (`Int(_:)` below takes no others; `isNumber` also admits `½` and other scripts' digits).
        let digitsOnly = String(raw.filter { $0.isASCII && $0.isNumber }.drop { $0 == "0" })
        if digitsOnly.isEmpty { return "zero" }
        if digitsOnly.count > 18 { return digitByDigit(digitsOnly, oh: false) }
        var groups: [Int] = []
        var s = Substring(digitsOnly)
        while !s.isEmpty {
            let take = s.count % 3 == 0 ? 3 : s.count % 3
            groups.append(Int(s.prefix(take))!)
            s = s.dropFirst(take)
        }
        var words: [String] = []
        for (i, g) in groups.enumerated() where g > 0 {
            words.append(belowThousand(g))
            let scale = scales[groups.count - 1 - i]
            if !scale.isEmpty { words.append(scale) }
        }
        return words.joined(separator: " ")
    }

    /// `3.25` → `three point two five`, `-5` → `minus five`.
    static func number(_ raw: some StringProtocol, minus: String = "minus") -> String {
        var s = Substring(raw.filter { $0 != "," })
        var sign = ""
        if let first = s.first, "-−–".contains(first) { sign = minus + " "; s = s.dropFirst() }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        var out = cardinal(parts[0].isEmpty ? "0" : parts[0])
        if parts.count > 1 && !parts[1].isEmpty { out += " point " + digitByDigit(parts[1], oh: false) }
        return sign + out
    }

    /// `1970` → `nineteen seventy`, `2005` → `two thousand five`, `2019` → `twenty nineteen`, `1905` → `nineteen oh five`.
    static func year(_ raw: some StringProtocol) -> String {
        guard let n = Int(raw), raw.count == 4 else { return cardinal(raw) }
        let high = n / 100, low = n % 100
        if n >= 2000 && n < 2010 { return cardinal(raw) }
        if low == 0 { return n % 1000 == 0 ? cardinal(raw) : belowThousand(high) + " hundred" }
        if low < 10 { return belowThousand(high) + " oh " + ones[low] }
        return belowThousand(high) + " " + belowThousand(low)
    }

    /// `one` → `first`, `twenty two` → `twenty second`, `seventy` → `seventieth`.
    static func ordinal(_ cardinalWords: String) -> String {
        var words = cardinalWords.split(separator: " ").map(String.init)
        guard let last = words.popLast() else { return cardinalWords }
        let irregular = ["one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
                         "twelve": "twelfth"]
        let o: String
        if let i = irregular[last] { o = i } else if last.hasSuffix("y") { o = String(last.dropLast()) + "ieth" } else { o = last + "th" }
        return (words + [o]).joined(separator: " ")
    }

    /// A plural of a cardinal-number word: `seventy` → `seventies`, `six` → `sixes`, `hundred` → `hundreds`.
    static func plural(_ words: String) -> String {
        if words.hasSuffix("y") { return String(words.dropLast()) + "ies" }
        if words.hasSuffix("x") { return words + "es" }
        return words + "s"
    }
}
