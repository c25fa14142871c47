//! Human units for the config and the reports: byte sizes (`256MiB`),
//! percentages (`5%`) and durations (`250ms`, `2m`).
//!
//! Parsing is delegated to `bytesize` and `humantime`; this module gives the
//! values real types so a byte count cannot be mixed up with a duration, and
//! makes them deserializable from YAML scalars with a message that says what
//! was expected.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A size in bytes. Parses `256MiB`, `10MB`, `1.5GiB` or a plain integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub u64);

impl FromStr for Bytes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        t.parse::<bytesize::ByteSize>()
            .map(|b| Bytes(b.as_u64()))
            .map_err(|_| format!("`{t}` is not a size; expected e.g. `512KiB`, `256MiB`, `1GiB` or a number of bytes"))
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut value = self.0 as f64;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            write!(f, "{} B", self.0)
        } else {
            write!(f, "{value:.1} {}", UNITS[unit])
        }
    }
}

/// A value of a metric, for people: bytes in binary units, seconds in
/// ns/us/ms/s, counts as integers where they are, ratios as percentages.
pub fn human(unit: crate::metrics::Unit, v: f64) -> String {
    use crate::metrics::Unit;
    if !v.is_finite() {
        return v.to_string();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    match unit {
        Unit::Bytes => format!("{sign}{}", Bytes(a.round() as u64)),
        Unit::Seconds if a == 0.0 => "0 s".to_owned(),
        Unit::Seconds => {
            let (scaled, suffix) = if a >= 1.0 {
                (a, "s")
            } else if a >= 1e-3 {
                (a * 1e3, "ms")
            } else if a >= 1e-6 {
                (a * 1e6, "µs")
            } else {
                (a * 1e9, "ns")
            };
            format!("{sign}{} {suffix}", three_digits(scaled))
        }
        Unit::Count if a.fract() == 0.0 && a < 1e15 => format!("{sign}{}", a as u64),
        Unit::Count => format!("{sign}{}", three_digits(a)),
        Unit::Ratio => format!("{sign}{}%", three_digits(a * 100.0)),
        Unit::BytesPerSecond => format!("{sign}{}/s", Bytes(a.round() as u64)),
    }
}

/// A number with about three significant digits: 1.23, 12.3, 123.
fn three_digits(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A relative change, stored as a fraction (`5%` is `0.05`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Percent(pub f64);

impl FromStr for Percent {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let expected = || format!("`{t}` is not a percentage; expected e.g. `5%` or `0.5%`");
        let number = t.strip_suffix('%').ok_or_else(expected)?;
        let value: f64 = number.trim().parse().map_err(|_| expected())?;
        if !value.is_finite() || value < 0.0 {
            return Err(format!(
                "`{t}` is not a percentage; it must be zero or positive"
            ));
        }
        Ok(Percent(value / 100.0))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

/// The longest duration a config or option may give: 365 days.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// A duration written for humans: `250ms`, `1.5s`, `2m`, `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct HumanDuration(pub Duration);

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let d = humantime::parse_duration(t).map_err(|_| {
            format!("`{t}` is not a duration; expected e.g. `250ms`, `1.5s`, `2m` or `0`")
        })?;
        // A deadline past what the clock can add overflows when the
        // launcher sets it; no run or build waits a year.
        if d > MAX_DURATION {
            return Err(format!(
                "`{t}` is longer than a year, the longest memgate waits"
            ));
        }
        Ok(HumanDuration(d))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// Deserializes a unit type from a YAML string, or from a bare integer for
/// types where that makes sense (`0` seconds, `1048576` bytes).
struct UnitVisitor<T>(std::marker::PhantomData<T>, &'static str);

impl<T: FromStr<Err = String>> Visitor<'_> for UnitVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        v.to_string().parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        v.to_string().parse().map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        v.to_string().parse().map_err(E::custom)
    }
}

macro_rules! serde_via_str {
    ($ty:ty, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(UnitVisitor::<$ty>(std::marker::PhantomData, $expecting))
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

serde_via_str!(Bytes, "a size such as `256MiB`");
serde_via_str!(Percent, "a percentage such as `5%`");
serde_via_str!(HumanDuration, "a duration such as `250ms` or `2m`");

/// p-values for people: 4 significant digits, scientific when small.
pub fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_parse_binary_and_decimal_units() {
        assert_eq!("256MiB".parse::<Bytes>().unwrap(), Bytes(256 << 20));
        assert_eq!("10MB".parse::<Bytes>().unwrap(), Bytes(10_000_000));
        assert_eq!("512".parse::<Bytes>().unwrap(), Bytes(512));
        assert!("lots".parse::<Bytes>().is_err());
        assert!("-1MiB".parse::<Bytes>().is_err());
    }

    #[test]
    fn percent_is_a_fraction() {
        assert_eq!("5%".parse::<Percent>().unwrap(), Percent(0.05));
        assert_eq!("0.5 %".parse::<Percent>().unwrap(), Percent(0.005));
        assert!(
            "5".parse::<Percent>()
                .unwrap_err()
                .contains("expected e.g. `5%`")
        );
        assert!("-5%".parse::<Percent>().is_err());
    }

    #[test]
    fn durations_parse_human_forms() {
        assert_eq!(
            "250ms".parse::<HumanDuration>().unwrap().0,
            Duration::from_millis(250)
        );
        assert_eq!(
            "2m".parse::<HumanDuration>().unwrap().0,
            Duration::from_secs(120)
        );
        assert_eq!("0".parse::<HumanDuration>().unwrap().0, Duration::ZERO);
        assert!("soon".parse::<HumanDuration>().is_err());
    }

    #[test]
    fn human_values_by_unit() {
        use crate::metrics::Unit;
        assert_eq!(human(Unit::Bytes, 64.0 * 1024.0 * 1024.0), "64.0 MiB");
        assert_eq!(human(Unit::Seconds, 0.0123), "12.3 ms");
        assert_eq!(human(Unit::Seconds, 2.5), "2.50 s");
        assert_eq!(human(Unit::Seconds, 0.000_004_56), "4.56 µs");
        assert_eq!(human(Unit::Count, 1200.0), "1200");
        assert_eq!(human(Unit::Ratio, 0.125), "12.5%");
        assert_eq!(human(Unit::Bytes, -2048.0), "-2.0 KiB");
    }

    #[test]
    fn bytes_display_in_binary_units() {
        assert_eq!(Bytes(512).to_string(), "512 B");
        assert_eq!(Bytes(200 << 20).to_string(), "200.0 MiB");
    }
}
