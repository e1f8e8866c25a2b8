/// Reads Arabic numerals the way Mandarin speakers say them, for the default voice's front end until the full
/// WeTextProcessing-equivalent normaliser lands: cardinals (`1024` → 一千零二十四), decimals (`3.14` → 三点一四),
/// percentages (`50%` → 百分之五十), negative signs, and digit strings where a cardinal reading is wrong (years before
/// 年, numbers with leading zeros, and anything of 13 or more digits are read digit by digit).
public enum ChineseNumberReader {
    static let digitNames: [Character] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"]

    /// `text` with every numeral written out in Chinese characters.
    public static func normalize(_ text: String) -> String {
        let chars = Array(text)
        var result = ""
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard digitValue(c) != nil else {
                result.append(c)
                i += 1
                continue
            }
            var j = i
            while j < chars.count, digitValue(chars[j]) != nil { j += 1 }
            let integer = String(chars[i..<j].map { Character(String(digitValue($0)!)) })
            var fraction: String?
            if j + 1 < chars.count, chars[j] == "." || chars[j] == "．", digitValue(chars[j + 1]) != nil {
                var k = j + 1
                while k < chars.count, digitValue(chars[k]) != nil { k += 1 }
                fraction = String(chars[(j + 1)..<k].map { Character(String(digitValue($0)!)) })
                j = k
            }
            let negative = i > 0 && (chars[i - 1] == "-" || chars[i - 1] == "－") && (i < 2 || !chars[i - 2].isNumber)
            if negative { result.removeLast(); result += "负" }
            let percent = j < chars.count && (chars[j] == "%" || chars[j] == "％")
            let beforeYear = fraction == nil && j < chars.count && chars[j] == "年" && integer.count >= 2
            var spoken: String
            if beforeYear || integer.count >= 13 || (integer.count > 1 && integer.hasPrefix("0")) {
                spoken = digits(integer)
            } else {
                spoken = cardinal(integer)
            }
            if let fraction { spoken += "点" + digits(fraction) }
            if percent {
                spoken = "百分之" + spoken
                j += 1
            }
            result += spoken
            i = j
        }
        return result
    }

    /// Digit by digit (`2025` → 二零二五).
    public static func digits(_ s: String) -> String { String(s.compactMap { $0.wholeNumberValue.map { digitNames[$0] } }) }

    /// The cardinal reading of a decimal integer string of up to 12 digits.
    public static func cardinal(_ s: String) -> String {
        let trimmed = s.drop(while: { $0 == "0" })
        guard let value = Int(trimmed), value > 0 else { return "零" }
        var groups: [Int] = []
        var v = value
        while v > 0 { groups.append(v % 10000); v /= 10000 }
        let units = ["", "万", "亿"]
        var result = ""
        var pendingZero = false
        for index in stride(from: groups.count - 1, through: 0, by: -1) {
            let group = groups[index]
            if group == 0 { pendingZero = !result.isEmpty; continue }
            if pendingZero || (!result.isEmpty && group < 1000) { result += "零" }
            pendingZero = false
            result += belowTenThousand(group) + units[index]
        }
        // 一十 at the start reads 十 (十五, 十万).
        if result.hasPrefix("一十") { result.removeFirst() }
        return result
    }

    private static func belowTenThousand(_ n: Int) -> String {
        let places: [(Int, String)] = [(1000, "千"), (100, "百"), (10, "十"), (1, "")]
        var result = ""
        var zero = false
        var started = false
        for (place, name) in places {
            let d = (n / place) % 10
            if d == 0 {
                if started { zero = true }
                continue
            }
            if zero { result += "零"; zero = false }
            let digit = d == 2 && place >= 1000 ? "两" : String(digitNames[d])
            result += digit + name
            started = true
        }
        return result
    }

    static func digitValue(_ c: Character) -> Int? {
        guard let scalar = c.unicodeScalars.first, c.unicodeScalars.count == 1 else { return nil }
        switch scalar.value {
        case 0x30...0x39: return Int(scalar.value - 0x30)
        case 0xFF10...0xFF19: return Int(scalar.value - 0xFF10)
        default: return nil
        }
    }
}
