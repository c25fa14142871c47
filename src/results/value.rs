//! A sample's value: an integer where the figure is a count or bytes, a
//! float otherwise; written as a JSON number, and refused when read back
//! outside what a results file holds.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// One sample: integers stay integers until the statistics need floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// Counts and byte totals.
    Int(u64),
    /// Seconds and ratios.
    Float(f64),
}

impl Value {
    /// The value as a float, for statistics.
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Int(v) => v as f64,
            Value::Float(v) => v,
        }
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Value {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sample".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "One sample: an integer for bytes and counts, a number for seconds and ratios.",
            "type": "number",
            "minimum": 0
        })
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Value::Int(v) => s.serialize_u64(v),
            Value::Float(v) => s.serialize_f64(v),
        }
    }
}

/// Samples stay below 2^53, the largest integer an f64 holds exactly:
/// the statistics compute in f64, and sums and differences of samples near
/// f64::MAX become infinite, which no verdicts file can hold.
const MAX_SAMPLE: f64 = 9_007_199_254_740_992.0;

/// Whether a results file can hold `v` as a sample.
pub fn storable(v: f64) -> bool {
    v.is_finite() && (0.0..MAX_SAMPLE).contains(&v)
}

fn too_large(v: f64) -> String {
    format!("sample {v} is too large (at most 2^53 = 9007199254740992)")
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative number below 2^53")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                if v < MAX_SAMPLE as u64 {
                    Ok(Value::Int(v))
                } else {
                    Err(E::custom(too_large(v as f64)))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                u64::try_from(v)
                    .map(Value::Int)
                    .map_err(|_| E::custom(format!("negative sample {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                if v.is_finite() && v >= MAX_SAMPLE {
                    Err(E::custom(too_large(v)))
                } else if v.is_finite() && v >= 0.0 {
                    // -0.0 is zero.
                    Ok(Value::Float(v.abs()))
                } else {
                    Err(E::custom(format!("negative sample {v}")))
                }
            }
        }
        d.deserialize_any(V)
    }
}
