//! Keys and values on the command line and in output: parsed from UTF-8
//! or hex arguments, printed as UTF-8 with unambiguous escapes or as hex.
//!
//! Escaping (the default output): valid UTF-8 is printed as is, except
//! that a backslash becomes `\\` and every control character and every
//! byte that is not part of valid UTF-8 becomes `\xNN`. The mapping is
//! reversible, and the output is always valid UTF-8 on one line.

use std::fmt::Write as _;

/// How keys and values are read and written (`--hex` or not).
#[derive(Clone, Copy, Debug)]
pub struct Encoding {
    /// Hex on input and output.
    pub hex: bool,
}

impl Encoding {
    /// An argument as bytes: hex when `--hex`, else its UTF-8 bytes.
    pub fn parse(self, arg: &str) -> Result<Vec<u8>, String> {
        if self.hex {
            parse_hex(arg)
        } else {
            Ok(arg.as_bytes().to_vec())
        }
    }

    /// Bytes for output: hex when `--hex`, else escaped UTF-8.
    pub fn show(self, bytes: &[u8]) -> String {
        if self.hex {
            hex(bytes)
        } else {
            escape(bytes)
        }
    }

    /// [`Self::show`] of at most `max` bytes, with the full length noted
    /// when it is cut.
    pub fn show_cut(self, bytes: &[u8], max: Option<usize>) -> String {
        match max {
            Some(max) if bytes.len() > max => {
                format!("{}… ({} bytes)", self.show(&bytes[..max]), bytes.len())
            }
            _ => self.show(bytes),
        }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Hex digits (upper or lower case, even count) as bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("{text:?} is not hex: odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("{text:?} is not hex"))
        })
        .collect()
}

/// Escaped UTF-8 (see the module documentation).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_unambiguous() {
        assert_eq!(escape(b"plain/key"), "plain/key");
        assert_eq!(escape("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(escape(b"a\\b"), "a\\\\b");
        assert_eq!(escape(b"\n\x00"), "\\x0a\\x00");
        assert_eq!(escape(&[0xff, b'x', 0xc3]), "\\xffx\\xc3");
    }

    #[test]
    fn hex_round_trips_and_refuses_garbage() {
        assert_eq!(parse_hex("00fFa0").unwrap(), vec![0, 0xff, 0xa0]);
        assert_eq!(hex(&[0, 0xff, 0xa0]), "00ffa0");
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
        assert!(parse_hex("é1").is_err());
    }
}
