//! JSON as memgate writes it (results, baselines, verdicts): indented like
//! `serde_json`'s pretty printer, except that an array of plain values
//! (numbers, strings, booleans) stays on one line. A run's samples are
//! most of a large file; one per line made a thousand benchmarks' verdicts
//! 6.5 MB, most of it indentation, and writing them most of `compare`.

use std::io::{self, Write};

use serde_json::ser::Formatter;

/// Writes `value` as memgate's JSON.
pub fn to_writer<W: Write, T: serde::Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, Layout::default());
    value.serialize(&mut ser)
}

/// Writes `shell`, an object whose top-level field `key` is an empty
/// array, with `items` in that array: the items are written on every core
/// at once (a thousand benchmarks' verdicts are most of a verdicts file),
/// then joined in order, as [`to_writer`] would have written them.
pub fn to_writer_with<W: Write, T: serde::Serialize + ?Sized, I: serde::Serialize + Sync>(
    mut writer: W,
    shell: &T,
    key: &str,
    items: &[I],
) -> io::Result<()> {
    let mut text = Vec::new();
    to_writer(&mut text, shell)?;
    // A raw newline never occurs inside a JSON string (it is escaped), so
    // this is the field itself, at the top level (indented once).
    let field = format!("\n  {}: []", serde_json::to_string(key)?);
    let Some(at) = text
        .windows(field.len())
        .position(|w| w == field.as_bytes())
    else {
        return Err(io::Error::other(format!("no empty `{key}` to fill")));
    };
    writer.write_all(&text[..at + field.len() - 1])?;
    const PIECE: usize = 64;
    let pieces: Vec<&[I]> = items.chunks(PIECE).collect();
    let written = crate::parallel::map(&pieces, 1, |piece| -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::new();
        for item in *piece {
            out.extend_from_slice(b",\n    ");
            // As inside the shell's array: an object's member, a block array.
            let layout = Layout {
                open: vec![Open::Object { members: true }, Open::Block],
            };
            item.serialize(&mut serde_json::Serializer::with_formatter(
                &mut out, layout,
            ))?;
        }
        Ok(out)
    });
    let mut first = true;
    for piece in written {
        let piece = piece?;
        // The first item follows the bracket without a comma.
        let skip = if first { 1 } else { 0 };
        first = false;
        writer.write_all(&piece[skip..])?;
    }
    if !items.is_empty() {
        writer.write_all(b"\n  ")?;
    }
    writer.write_all(&text[at + field.len() - 1..])
}

/// Where the formatter is: the open containers, innermost last.
#[derive(Default)]
struct Layout {
    open: Vec<Open>,
}

#[derive(Clone, Copy, PartialEq)]
enum Open {
    /// An object; whether a member was written.
    Object { members: bool },
    /// An array whose first value has not begun: its layout is not known.
    Undecided,
    /// An array of plain values, on one line.
    Inline,
    /// An array of objects or arrays, a value a line.
    Block,
}

impl Layout {
    fn indent<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<()> {
        for _ in 0..self.open.len() {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    /// A value begins: the first value of an array decides its layout.
    fn value<W: Write + ?Sized>(&mut self, w: &mut W, plain: bool) -> io::Result<()> {
        if let Some(top) = self.open.last_mut()
            && *top == Open::Undecided
        {
            if plain {
                *top = Open::Inline;
            } else {
                *top = Open::Block;
                w.write_all(b"\n")?;
                self.indent(w)?;
            }
        }
        Ok(())
    }
}

/// A plain value's write: say it begins, then write it as the compact
/// formatter does.
macro_rules! plain {
    ($($name:ident($t:ty)),* $(,)?) => {$(
        fn $name<W: Write + ?Sized>(&mut self, w: &mut W, v: $t) -> io::Result<()> {
            self.value(w, true)?;
            serde_json::ser::CompactFormatter.$name(w, v)
        }
    )*};
}

impl Formatter for Layout {
    plain!(
        write_bool(bool),
        write_i8(i8),
        write_i16(i16),
        write_i32(i32),
        write_i64(i64),
        write_i128(i128),
        write_u8(u8),
        write_u16(u16),
        write_u32(u32),
        write_u64(u64),
        write_u128(u128),
        write_f32(f32),
        write_f64(f64),
        write_number_str(&str),
    );

    fn write_null<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        self.value(w, true)?;
        w.write_all(b"null")
    }

    fn begin_string<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        // Keys are strings too; they begin no array value (an object is
        // the innermost container then).
        self.value(w, true)?;
        w.write_all(b"\"")
    }

    fn begin_array<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        self.value(w, false)?;
        self.open.push(Open::Undecided);
        w.write_all(b"[")
    }

    fn end_array<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        if self.open.pop() == Some(Open::Block) {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: Write + ?Sized>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        match self.open.last() {
            Some(Open::Inline) if !first => w.write_all(b", "),
            Some(Open::Block) => {
                w.write_all(b",\n")?;
                self.indent(w)
            }
            _ => Ok(()),
        }
    }

    fn end_array_value<W: Write + ?Sized>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        self.value(w, false)?;
        self.open.push(Open::Object { members: false });
        w.write_all(b"{")
    }

    fn end_object<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        if self.open.pop() == Some(Open::Object { members: true }) {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: Write + ?Sized>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if let Some(Open::Object { members }) = self.open.last_mut() {
            *members = true;
        }
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }

    fn begin_object_value<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: Write + ?Sized>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    fn written(v: &serde_json::Value) -> String {
        let mut out = Vec::new();
        super::to_writer(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_arrays_stay_on_a_line_and_the_rest_is_indented() {
        let v = serde_json::json!({
            "samples": [1.5, 2.0, 3.25],
            "names": ["a", "b"],
            "empty": [],
            "none": {},
            "runs": [{"n": 1, "tags": ["x"]}, {"n": 2, "nested": [[1, 2], []]}],
        });
        let text = written(&v);
        assert_eq!(
            text,
            r#"{
  "empty": [],
  "names": ["a", "b"],
  "none": {},
  "runs": [
    {
      "n": 1,
      "tags": ["x"]
    },
    {
      "n": 2,
      "nested": [
        [1, 2],
        []
      ]
    }
  ],
  "samples": [1.5, 2.0, 3.25]
}"#
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn items_written_apart_read_as_written_together() {
        for n in [0, 1, 2, 63, 64, 65, 300] {
            let items: Vec<serde_json::Value> = (0..n)
                .map(|i| serde_json::json!({"i": i, "samples": [i, i + 1], "runs": [{"n": i}]}))
                .collect();
            let whole = serde_json::json!({"a": 1, "items": items, "z": {"verdicts": []}});
            let shell = serde_json::json!({"a": 1, "items": [], "z": {"verdicts": []}});
            let mut out = Vec::new();
            super::to_writer_with(&mut out, &shell, "items", &items).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                written(&whole),
                "{n} items"
            );
        }
        // A shell without the field is an error, not a file without items.
        let mut out = Vec::new();
        assert!(super::to_writer_with(&mut out, &serde_json::json!({}), "items", &[1]).is_err());
    }
}
