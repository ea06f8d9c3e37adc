// GLUE's metrics: accuracy, F1 of the positive class (the second label, "1"), Matthews correlation (CoLA),
// Pearson and Spearman correlation (STS-B; Spearman with average ranks for ties).

import Foundation

public enum TaskMetrics {
    public static func accuracy(_ pred: [Int32], _ gold: [Int32]) -> Double {
        guard !gold.isEmpty else { return 0 }
        return Double(zip(pred, gold).filter { $0 == $1 }.count) / Double(gold.count)
    }

    /// F1 of class `positive`; 0 when it is never predicted nor present.
    public static func f1(_ pred: [Int32], _ gold: [Int32], positive: Int32 = 1) -> Double {
        var tp = 0.0, fp = 0.0, fn = 0.0
        for (p, g) in zip(pred, gold) {
            if p == positive && g == positive {
                tp += 1
            } else if p == positive {
                fp += 1
            } else if g == positive {
                fn += 1
            }
        }
        return tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn)
    }

    /// Matthews correlation for binary labels (0 when a marginal is empty, as scikit-learn).
    public static func mcc(_ pred: [Int32], _ gold: [Int32]) -> Double {
        var tp = 0.0, tn = 0.0, fp = 0.0, fn = 0.0
        for (p, g) in zip(pred, gold) {
            switch (p == 1, g == 1) {
            case (true, true): tp += 1
            case (false, false): tn += 1
            case (true, false): fp += 1
            case (false, true): fn += 1
            }
        }
        let d = ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)).squareRoot()
        return d == 0 ? 0 : (tp * tn - fp * fn) / d
    }

    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        guard n > 1 else { return 0 }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / (sxx * syy).squareRoot()
    }

    /// Ranks from 1, ties sharing the average of their positions.
    public static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var r = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            let avg = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = avg }
            i = j + 1
        }
        return r
    }

    public static func spearman(_ x: [Double], _ y: [Double]) -> Double { pearson(ranks(x), ranks(y)) }

    /// The named metrics of a split: classification from predicted classes, regression from values.
    public static func compute(
        _ names: [String], predClass: [Int32], goldClass: [Int32], predValue: [Double], goldValue: [Double]
    ) -> [String: Double] {
        var out: [String: Double] = [:]
        for n in names {
            switch n {
            case "accuracy": out[n] = accuracy(predClass, goldClass)
            case "f1": out[n] = f1(predClass, goldClass)
            case "mcc": out[n] = mcc(predClass, goldClass)
            case "pearson": out[n] = pearson(predValue, goldValue)
            case "spearman": out[n] = spearman(predValue, goldValue)
            default: break
            }
        }
        return out
    }
}
