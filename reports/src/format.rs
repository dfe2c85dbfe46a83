//! Numbers as a report prints them: rates with thousands separators, latencies to three
//! significant figures, shares as percentages.

/// `31740.2` → `"31,740"`; below 100 one decimal (`12.5`).
pub fn rate(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    if value.abs() < 100.0 {
        return format!("{value:.1}");
    }
    let grouped = count(value.abs().round() as u64);
    if value < 0.0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// A whole count with thousands separators: `994951` → `"994,951"`, `12` → `"12"`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Microseconds shown as milliseconds to three significant figures: `412.0` → `"0.412"`.
pub fn ms(us: f64) -> String {
    let ms = us / 1000.0;
    if !ms.is_finite() {
        "–".into()
    } else if ms < 1.0 {
        format!("{ms:.3}")
    } else if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// A share (0 to 1) as a percentage: `0.00021` → `"0.021%"`; exactly zero → `"0%"`.
pub fn percent(share: f64) -> String {
    if share == 0.0 {
        "0%".into()
    } else if share < 0.0001 {
        format!("{:.4}%", share * 100.0)
    } else if share < 0.01 {
        format!("{:.3}%", share * 100.0)
    } else {
        format!("{:.1}%", share * 100.0)
    }
}

/// A ratio as "1.9×", "1.02×".
pub fn ratio(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}×")
    } else {
        format!("{value:.0}×")
    }
}

/// Nanoseconds to three significant figures, in the unit that reads best.
pub fn ns(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.3} ms", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.3} µs", value / 1e3)
    } else {
        format!("{value:.1} ns")
    }
}

/// A length of time as a person says it: "42 s", "7 min 5 s", "1 h 3 min".
pub fn span(seconds: f64) -> String {
    let whole = seconds.max(0.0).round() as u64;
    let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60);
    match (hours, minutes) {
        (0, 0) => format!("{secs} s"),
        (0, _) => format!("{minutes} min {secs} s"),
        _ => format!("{hours} h {minutes} min"),
    }
}

/// An RFC 3339 timestamp to the second: `2026-11-24T18:43:33.4755Z` → `2026-11-24 18:43:33Z`.
pub fn timestamp(text: &str) -> String {
    let seconds = text.split('.').next().unwrap_or(text).trim_end_matches('Z');
    format!("{}Z", seconds.replacen('T', " ", 1))
}

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_group_thousands() {
        assert_eq!(rate(31_740.2), "31,740");
        assert_eq!(rate(1_940_683.0), "1,940,683");
        assert_eq!(rate(999.6), "1,000");
        assert_eq!(rate(12.54), "12.5");
        assert_eq!(rate(100.0), "100");
        assert_eq!(count(12), "12");
        assert_eq!(count(994_951), "994,951");
    }

    #[test]
    fn latencies_keep_three_figures() {
        assert_eq!(ms(412.0), "0.412");
        assert_eq!(ms(4_120.0), "4.12");
        assert_eq!(ms(41_200.0), "41.2");
        assert_eq!(ms(412_000.0), "412");
    }

    #[test]
    fn shares_and_ratios() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.00021), "0.021%");
        assert_eq!(percent(0.25), "25.0%");
        assert_eq!(ratio(1.9), "1.90×");
        assert_eq!(ns(59.84), "59.8 ns");
        assert_eq!(ns(30_500.0), "30.500 µs");
    }

    #[test]
    fn spans_read_as_said() {
        assert_eq!(span(41.6), "42 s");
        assert_eq!(span(425.0), "7 min 5 s");
        assert_eq!(span(3780.0), "1 h 3 min");
    }

    #[test]
    fn timestamps_drop_fractions() {
        assert_eq!(
            timestamp("2026-11-24T18:43:33.475528766Z"),
            "2026-11-24 18:43:33Z"
        );
        assert_eq!(timestamp("2026-11-24T10:00:00Z"), "2026-11-24 10:00:00Z");
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
