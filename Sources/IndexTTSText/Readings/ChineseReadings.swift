import Foundation

/// The Chinese rules of the reading layer, in priority order.
enum ChineseReadings {
    /// A number as written: `1,500`, `3.5`, `12`.
    static let num = #"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"#
    static let sep = #"\s*(?:～|~|〜|-|–|—|至|到)\s*"#

    /// Unit symbols and their readings, longest first in the pattern.
    static let units: [(String, String)] = [
        ("km/h", "公里每小时"), ("km/s", "公里每秒"), ("m/s", "米每秒"), ("mAh", "毫安时"), ("kWh", "千瓦时"), ("Mbps", "兆比特每秒"),
        ("Gbps", "吉比特每秒"), ("kcal", "千卡"), ("GHz", "吉赫兹"), ("MHz", "兆赫兹"), ("kHz", "千赫兹"), ("km²", "平方公里"),
        ("m²", "平方米"), ("m³", "立方米"), ("cm²", "平方厘米"), ("°C", "摄氏度"), ("°F", "华氏度"), ("Ah", "安时"), ("kW", "千瓦"),
        ("Hz", "赫兹"), ("kg", "千克"), ("KG", "千克"), ("km", "公里"), ("KM", "公里"), ("cm", "厘米"), ("mm", "毫米"), ("nm", "纳米"),
        ("μm", "微米"), ("mg", "毫克"), ("ml", "毫升"), ("mL", "毫升"), ("ms", "毫秒"), ("dB", "分贝"), ("min", "分钟"),
        ("TB", "TB"), ("GB", "GB"), ("MB", "MB"), ("KB", "KB"), ("kb", "KB"),
        ("㎡", "平方米"), ("㎢", "平方公里"), ("㎥", "立方米"), ("㎏", "千克"), ("㎎", "毫克"), ("㎞", "公里"), ("㎝", "厘米"),
        ("㎜", "毫米"), ("㎖", "毫升"), ("℃", "摄氏度"), ("℉", "华氏度"), ("°", "度"), ("m", "米"), ("g", "克"), ("L", "升"),
        ("W", "瓦"), ("V", "伏"), ("h", "小时"),
    ]
    static let unitTable = Dictionary(units, uniquingKeysWith: { a, _ in a })
    static let unitPattern = units.map(\.0).sorted { $0.count > $1.count }.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|")
    static let temperatureUnits: Set<String> = ["°C", "°F", "℃", "℉"]

    /// Letters kept as written, digits one by one, symbols of addresses as said (`@` 艾特, `.` 点).
    static func spell(_ s: String) -> String {
        var out = ""
        for c in s {
            if let d = c.wholeNumberValue, c.isASCII { out.append(ChineseNumber.digits[d]) }
            else if c == "@" { out += "艾特" }
            else if c == "." { out += "点" }
            else if c == "-" { out += "杠" }
            else if c == "_" { out += "下划线" }
            else if c == "/" { out += "斜杠" }
            else if c == " " { continue }
            else { out.append(c) }
        }
        return out
    }

    static func unitReading(_ unit: String, before: String) -> String {
        let reading = unitTable[unit] ?? unit
        if unit == "km/h" && before.hasSuffix("时速") { return "公里" }
        return reading
    }

    static func percentOrNumber(_ n: String, percent: Bool) -> String {
        percent ? "百分之" + ChineseNumber.number(n) : ChineseNumber.number(n)
    }

    /// `8:30` → `八点三十分`, `0:05` → `零点零五分`, `2:15:30` → `两点十五分三十秒`; nil when not a clock time.
    static func clock(_ h: String, _ m: String, _ s: String?) -> String? {
        guard let hour = Int(h), let minute = Int(m), hour <= 24, minute < 60, m.count == 2 else { return nil }
        var out = hour == 2 ? "两点" : ChineseNumber.cardinal(h) + "点"
        if let s {
            guard let second = Int(s), second < 60 else { return nil }
            out += (minute < 10 ? "零" : "") + ChineseNumber.cardinal(m) + "分"
            if second > 0 { out += (second < 10 ? "零" : "") + ChineseNumber.cardinal(s) + "秒" }
        } else if minute > 0 {
            out += (minute < 10 ? "零" : "") + ChineseNumber.cardinal(m) + "分"
        }
        return out
    }

    static let scoreWords = ["比分", "战胜", "击败", "打败", "负于", "输给", "赢了", "获胜", "比赛", "大比分", "总比分", "战平", "逆转"]

    static let provinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼港澳"
    static let contextWords = ["房间号码", "房间号", "房号", "房间", "电话号码", "电话", "手机号码", "手机号", "手机", "号码", "车次",
                               "航班号", "航班", "编号", "工号", "学号", "订单号", "单号", "身份证号码", "身份证号", "身份证", "验证码",
                               "密码", "分机号", "分机", "邮编", "邮政编码", "卡号", "尾号", "门牌号", "车牌号", "账号", "批次号",
                               "型号", "代码", "车位号", "停车位", "车位", "热线", "客服电话", "快递单号", "取件码", "会员号", "QQ号", "QQ", "微信号"]

    static let rules: [ReadingLayer.Rule] = [
        .init("zh.email", #"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"#) { spell($0.whole) },
        .init("zh.url", #"(?:https?://)?(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|cn|net|org|io|edu|gov|ai|co|info|me|tv|app|dev)(?:\.[a-z]{2})?(?:/[A-Za-z0-9/_\-.%?=&#]*[A-Za-z0-9/])?(?![A-Za-z0-9])"#) { m in
            var s = m.whole
            for scheme in ["https://", "http://"] where s.hasPrefix(scheme) { s.removeFirst(scheme.count) }
            return spell(s)
        },
        .init("zh.ip", #"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{2,5}))?(?![\d.])"#) { m in
            m[1]!.split(separator: ".").map { ChineseNumber.digitByDigit($0) }.joined(separator: "点")
                + (m[2].map { "冒号" + ChineseNumber.digitByDigit($0) } ?? "")
        },
        .init("zh.version", #"(?<![A-Za-z\d.])([vV])(\d+(?:\.\d+)+)(?![\d.])|(?<![\d.])(\d+\.\d+\.\d+)(?![\d.])"#) { m in
            let prefix = m[1].map { $0.uppercased() } ?? ""
            let parts = (m[2] ?? m[3] ?? "").split(separator: ".")
            return prefix + parts.map { $0.hasPrefix("0") ? ChineseNumber.digitByDigit($0) : ChineseNumber.cardinal($0) }.joined(separator: "点")
        },
        .init("zh.plate", "([\(provinces)])([A-Z])[·・ ]?([A-Z0-9]{5,6})(?![A-Za-z0-9])") { m in
            (m[1] ?? "") + (m[2] ?? "") + spell(m[3] ?? "")
        },
        .init("zh.digits", "(\(contextWords.joined(separator: "|")))(是|为|：|:)?(\\s*)([A-Z]{0,3}\\d[\\d -]*\\d|\\d)(?![\\d.]|,\\d)(?!\\s*(?:元|块|台|个|部|万|千|百|%|％|岁|人|次|天|小时|分钟|米|公里|G|位))") { m in
            (m[1] ?? "") + (m[2] ?? "") + (m[3] ?? "") + spell((m[4] ?? "").replacingOccurrences(of: "-", with: ""))
        },
        .init("zh.digits", #"(?<![\d.,])([A-Z]?\d{3,5})(?=号?(?:房间|房|室|宿舍))"#) { m in spell(m[1]!) },
        .init("zh.phone", #"(?<![\d-])(?:1[3-9]\d{9}|0\d{2,3}-\d{7,8}|400-?\d{3}-?\d{4})(?![\d-])"#) { m in
            ChineseNumber.digitByDigit(m.whole)
        },
        .init("zh.currency", "(US\\$|HK\\$|[￥¥$€£])\\s?(-?(?:\(num)))\\s*(万亿|亿|万|千)?\\s*(元|块)?") { m in
            let symbol = m[1] ?? ""
            let names = ["￥": "元", "¥": "元", "$": "美元", "US$": "美元", "HK$": "港元", "€": "欧元", "£": "英镑"]
            let name = (symbol == "￥" || symbol == "¥") ? (m[4] ?? "元") : names[symbol] ?? "元"
            let trailing = (symbol == "￥" || symbol == "¥") ? "" : (m[4] ?? "")
            return ChineseNumber.number(m[2] ?? "") + (m[3] ?? "") + name + trailing
        },
        .init("zh.range", "(?<![\\d.:：])(\(num))(%|％)?\(sep)(\(num))(%|％)(?![\\d])") { m in
            "百分之" + ChineseNumber.number(m[1] ?? "") + "到" + "百分之" + ChineseNumber.number(m[3] ?? "")
        },
        .init("zh.range", #"(?<![\d:：])(\d{1,2})[:：](\d{2})\s*(?:～|~|〜|-|–|—|至|到)\s*(\d{1,2})[:：](\d{2})(?![\d:：])"#) { m in
            guard let a = clock(m[1]!, m[2]!, nil), let b = clock(m[3]!, m[4]!, nil) else { return nil }
            return a + "到" + b
        },
        .init("zh.range", #"(?<!\d)(\d{4})\s*(?:～|~|〜|-|–|—|至|到)\s*(\d{4})(?=\s*年)"#) { m in
            ChineseNumber.digitByDigit(m[1]!) + "到" + ChineseNumber.digitByDigit(m[2]!)
        },
        .init("zh.range", "(?<![\\d.A-Za-z-])(-?(?:\(num)))\\s*(\(unitPattern))?\(sep)(-?(?:\(num)))\\s*(\(unitPattern))?(?![\\d.A-Za-z])") { m in
            let a = m[1]!, b = m[3]!
            guard let x = Double(a.replacingOccurrences(of: ",", with: "")), let y = Double(b.replacingOccurrences(of: ",", with: "")), x < y,
                  !(b.hasPrefix("0") && !b.hasPrefix("0.")) else { return nil }
            // Two years (2019-2020赛季) are read digit by digit, as years are.
            if m[2] == nil, m[4] == nil, a.count == 4, b.count == 4, (1100...2099).contains(Int(x)), (1100...2099).contains(Int(y)) {
                return ChineseNumber.digitByDigit(a) + "到" + ChineseNumber.digitByDigit(b)
            }
            let before = m.before(4)
            let ua = m[2].map { unitReading($0, before: before) } ?? ""
            let ub = m[4].map { unitReading($0, before: before) } ?? ""
            let negative = { (s: String, unit: String?) -> String in
                if s.hasPrefix("-"), let unit, temperatureUnits.contains(unit) { return "零下" + ChineseNumber.number(String(s.dropFirst())) }
                return ChineseNumber.number(s)
            }
            return negative(a, m[2]) + ua + "到" + negative(b, m[4]) + ub
        },
        .init("zh.time", #"(?<![\d:：.])(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?(?![\d:：])"#) { m in
            let before = m.before(8)
            if m[3] == nil && (scoreWords.contains(where: before.contains) || before.hasSuffix("以")) {
                return ChineseNumber.cardinal(m[1]!) + "比" + ChineseNumber.cardinal(m[2]!)
            }
            return clock(m[1]!, m[2]!, m[3])
        },
        .init("zh.ratio", #"(?<![\d:：.])(\d+)[:：](\d+)(?![\d:：])"#) { m in
            ChineseNumber.cardinal(m[1]!) + "比" + ChineseNumber.cardinal(m[2]!)
        },
        .init("zh.fraction", #"(?<![\d/.A-Za-z])(\d+)/(\d+)(?![\d/.A-Za-z])"#) { m in
            guard let n = Int(m[1]!), let d = Int(m[2]!), d > 0, n < d else { return nil }
            return ChineseNumber.cardinal(m[2]!) + "分之" + ChineseNumber.cardinal(m[1]!)
        },
        .init("zh.unit", "(?<![\\d.A-Za-z])(-|−|零下)?(\(num))\\s*(\(unitPattern))(?![A-Za-z²³])") { m in
            let unit = m[3]!
            var sign = ""
            if let s = m[1] { sign = temperatureUnits.contains(unit) || s == "零下" ? "零下" : "负" }
            if unit == "°" && sign.isEmpty == false { sign = "零下" }
            return sign + ChineseNumber.number(m[2]!) + unitReading(unit, before: m.before(4))
        },
        .init("zh.unit", "(?<![\\d.])(\(num))‰") { m in "千分之" + ChineseNumber.number(m[1]!) },
        .init("zh.unit", "[㎡㎢㎥㎏㎎㎞㎝㎜㎖℃℉]") { m in unitTable[m.whole] },
        .init("zh.keep", #"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+"#) { $0.whole },
        // Three digits or more are said one by one (D2817, RTX4090); two as a number (A17, K50) — which also keeps
        // IndexTTS2's pinyin protection from taking `A1` of `A17` for a syllable.
        .init("zh.code", #"(?<![A-Za-z0-9])([A-Z]{1,4})-?(\d{2,})(?![\d.])"#) { m in
            (m[1] ?? "") + (m[2]!.count >= 3 ? ChineseNumber.digitByDigit(m[2]!) : ChineseNumber.cardinal(m[2]!))
        },
        // A letter and one digit naming a floor, zone or gate (B2层, A3区) is a label, not a quantity (两层).
        .init("zh.code", #"(?<![A-Za-z0-9])([A-Z])(\d)(?=层|楼|区|栋|座|馆|厅|门|口|出口|入口|航站楼)"#) { m in m[1]! + ChineseNumber.digitByDigit(m[2]!) },
        // Birth cohorts: 95后 → 九五后 (WeTextProcessing reads only the round ones so).
        .init("zh.decade", #"(?<![\d.])(\d{2})(?=后)"#) { m in ChineseNumber.digitByDigit(m[1]!) },
        .init("zh.grouped", #"(?<![\d,.])(-?)(\d{1,3}(?:,\d{3})+(?:\.\d+)?)(%|％)?(?![\d,])"#) { m in
            (m[3] != nil ? "百分之" : "") + (m[1] == "-" ? "负" : "") + ChineseNumber.number(m[2]!)
        },
        .init("zh.roman", "[Ⅰ-Ⅻ]") { m in
            guard let scalar = m.whole.unicodeScalars.first else { return nil }
            return ChineseNumber.cardinal(String(scalar.value - 0x215F))
        },
    ]
}
