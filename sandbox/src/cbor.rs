//! A small CBOR codec (RFC 8949) for the Smithy RPC v2 CBOR protocol that today's AWS SDKs speak
//! to CloudWatch: every major type, definite and indefinite lengths, half/single/double floats,
//! tag 1 (epoch-seconds timestamps). Written here rather than borrowed from the SDK so that the
//! sandbox stays an independent implementation of the wire form.

use std::fmt;

/// A CBOR data item.
#[derive(Debug, Clone, PartialEq)]
pub enum Cbor {
    /// Major types 0 and 1.
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    /// Keys in the order they came.
    Map(Vec<(Cbor, Cbor)>),
    Tag(u64, Box<Cbor>),
    Bool(bool),
    Null,
    Undefined,
    Float(f64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CborError(pub String);

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed CBOR: {}", self.0)
    }
}

impl std::error::Error for CborError {}

fn err<T>(why: impl Into<String>) -> Result<T, CborError> {
    Err(CborError(why.into()))
}

/// Nesting deeper than this is refused (no input may exhaust the stack).
const MAX_DEPTH: usize = 64;

/// Decodes exactly one item spanning all of `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Cbor, CborError> {
    let mut d = Decoder { bytes, pos: 0 };
    let item = d.item(0)?;
    if d.pos != bytes.len() {
        return err(format!("{} bytes after the item", bytes.len() - d.pos));
    }
    Ok(item)
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

enum Head {
    Item(Cbor),
    Break,
}

impl Decoder<'_> {
    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| CborError("unexpected end of input".into()))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| CborError("length runs past the end of input".into()))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The argument of a head: `None` for indefinite length (info 31).
    fn argument(&mut self, info: u8) -> Result<Option<u64>, CborError> {
        let n = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.fixed()?)),
            26 => u64::from(u32::from_be_bytes(self.fixed()?)),
            27 => u64::from_be_bytes(self.fixed()?),
            31 => return Ok(None),
            _ => return err(format!("reserved additional information {info}")),
        };
        Ok(Some(n))
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn len(&self, n: u64) -> Result<usize, CborError> {
        let n = usize::try_from(n).map_err(|_| CborError("length too large".into()))?;
        // Every element takes at least one byte: a longer claim is a lie.
        if n > self.bytes.len().saturating_sub(self.pos) {
            return err("length longer than the input");
        }
        Ok(n)
    }

    fn item(&mut self, depth: usize) -> Result<Cbor, CborError> {
        match self.head(depth)? {
            Head::Item(c) => Ok(c),
            Head::Break => err("unexpected break"),
        }
    }

    fn head(&mut self, depth: usize) -> Result<Head, CborError> {
        if depth > MAX_DEPTH {
            return err("nested too deeply");
        }
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let item = match major {
            0 => Cbor::Int(i128::from(self.definite(info)?)),
            1 => Cbor::Int(-1 - i128::from(self.definite(info)?)),
            2 | 3 => {
                let bytes = match self.argument(info)? {
                    Some(n) => {
                        let n = self.len(n)?;
                        self.take(n)?.to_vec()
                    }
                    None => {
                        let mut all = Vec::new();
                        loop {
                            match self.head(depth + 1)? {
                                Head::Break => break,
                                Head::Item(Cbor::Bytes(b)) if major == 2 => all.extend(b),
                                Head::Item(Cbor::Text(t)) if major == 3 => {
                                    all.extend(t.into_bytes())
                                }
                                Head::Item(_) => return err("mixed chunks in a string"),
                            }
                        }
                        all
                    }
                };
                if major == 2 {
                    Cbor::Bytes(bytes)
                } else {
                    Cbor::Text(
                        String::from_utf8(bytes)
                            .map_err(|_| CborError("text is not UTF-8".into()))?,
                    )
                }
            }
            4 => {
                let mut items = Vec::new();
                match self.argument(info)? {
                    Some(n) => {
                        for _ in 0..self.len(n)? {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                    None => loop {
                        match self.head(depth + 1)? {
                            Head::Break => break,
                            Head::Item(c) => items.push(c),
                        }
                    },
                }
                Cbor::Array(items)
            }
            5 => {
                let mut pairs = Vec::new();
                match self.argument(info)? {
                    Some(n) => {
                        for _ in 0..self.len(n)? {
                            let k = self.item(depth + 1)?;
                            let v = self.item(depth + 1)?;
                            pairs.push((k, v));
                        }
                    }
                    None => loop {
                        match self.head(depth + 1)? {
                            Head::Break => break,
                            Head::Item(k) => {
                                let v = self.item(depth + 1)?;
                                pairs.push((k, v));
                            }
                        }
                    },
                }
                Cbor::Map(pairs)
            }
            6 => {
                let tag = self.definite(info)?;
                Cbor::Tag(tag, Box::new(self.item(depth + 1)?))
            }
            _ => match info {
                20 => Cbor::Bool(false),
                21 => Cbor::Bool(true),
                22 => Cbor::Null,
                23 => Cbor::Undefined,
                25 => Cbor::Float(half_to_f64(u16::from_be_bytes(self.fixed()?))),
                26 => Cbor::Float(f64::from(f32::from_be_bytes(self.fixed()?))),
                27 => Cbor::Float(f64::from_be_bytes(self.fixed()?)),
                31 => return Ok(Head::Break),
                other => return err(format!("unsupported simple value {other}")),
            },
        };
        Ok(Head::Item(item))
    }

    fn definite(&mut self, info: u8) -> Result<u64, CborError> {
        self.argument(info)?
            .ok_or_else(|| CborError("indefinite length where a number is needed".into()))
    }
}

fn half_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    sign * match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + mant / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Encodes with definite lengths; floats as doubles.
pub fn encode(item: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, item);
    out
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => {
            out.push(m | 24);
            out.push(n as u8);
        }
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

fn write(out: &mut Vec<u8>, item: &Cbor) {
    match item {
        Cbor::Int(i) if *i >= 0 => head(out, 0, u64::try_from(*i).unwrap_or(u64::MAX)),
        Cbor::Int(i) => head(out, 1, u64::try_from(-1 - *i).unwrap_or(u64::MAX)),
        Cbor::Bytes(b) => {
            head(out, 2, b.len() as u64);
            out.extend(b);
        }
        Cbor::Text(t) => {
            head(out, 3, t.len() as u64);
            out.extend(t.as_bytes());
        }
        Cbor::Array(items) => {
            head(out, 4, items.len() as u64);
            for i in items {
                write(out, i);
            }
        }
        Cbor::Map(pairs) => {
            head(out, 5, pairs.len() as u64);
            for (k, v) in pairs {
                write(out, k);
                write(out, v);
            }
        }
        Cbor::Tag(tag, inner) => {
            head(out, 6, *tag);
            write(out, inner);
        }
        Cbor::Bool(false) => out.push(0xf4),
        Cbor::Bool(true) => out.push(0xf5),
        Cbor::Null => out.push(0xf6),
        Cbor::Undefined => out.push(0xf7),
        Cbor::Float(f) => {
            out.push(0xfb);
            out.extend(f.to_be_bytes());
        }
    }
}

impl Cbor {
    pub fn text(s: impl Into<String>) -> Cbor {
        Cbor::Text(s.into())
    }
    /// A map with text keys.
    pub fn map(pairs: Vec<(&str, Cbor)>) -> Cbor {
        Cbor::Map(pairs.into_iter().map(|(k, v)| (Cbor::text(k), v)).collect())
    }
    /// A timestamp: tag 1 around epoch seconds (Smithy RPC v2 CBOR).
    pub fn timestamp(millis: i64) -> Cbor {
        Cbor::Tag(1, Box::new(Cbor::Float(millis as f64 / 1000.0)))
    }
    /// The member `key` of a map with text keys.
    pub fn get(&self, key: &str) -> Option<&Cbor> {
        match self {
            Cbor::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(k, Cbor::Text(t) if t == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cbor::Text(t) => Some(t),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cbor::Int(i) => i64::try_from(*i).ok(),
            Cbor::Float(f) if f.fract() == 0.0 && f.is_finite() => Some(*f as i64),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cbor::Int(i) => Some(*i as f64),
            Cbor::Float(f) => Some(*f),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Cbor::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Cbor]> {
        match self {
            Cbor::Array(items) => Some(items),
            _ => None,
        }
    }
    /// A timestamp in milliseconds: tag 1 around seconds, or a bare number of seconds.
    pub fn as_timestamp_millis(&self) -> Option<i64> {
        let secs = match self {
            Cbor::Tag(1, inner) => inner.as_f64()?,
            other => other.as_f64()?,
        };
        secs.is_finite().then(|| (secs * 1000.0).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        let item = Cbor::map(vec![
            ("n", Cbor::Int(500)),
            ("neg", Cbor::Int(-70_000)),
            ("s", Cbor::text("GetMetricData")),
            ("b", Cbor::Bytes(vec![1, 2, 3])),
            (
                "a",
                Cbor::Array(vec![Cbor::Bool(true), Cbor::Null, Cbor::Float(1.5)]),
            ),
            ("t", Cbor::timestamp(1_700_000_000_250)),
        ]);
        let bytes = encode(&item);
        assert_eq!(decode(&bytes).unwrap(), item);
        assert_eq!(
            decode(&bytes)
                .unwrap()
                .get("t")
                .unwrap()
                .as_timestamp_millis(),
            Some(1_700_000_000_250)
        );
    }

    #[test]
    fn reads_indefinite_lengths_and_small_floats() {
        // {_ "a": [_ 1, 2], "b": 1.5 (half), "c": 100000.0 (single)}
        let bytes = [
            0xbf, 0x61, b'a', 0x9f, 0x01, 0x02, 0xff, 0x61, b'b', 0xf9, 0x3e, 0x00, 0x61, b'c',
            0xfa, 0x47, 0xc3, 0x50, 0x00, 0xff,
        ];
        let item = decode(&bytes).unwrap();
        assert_eq!(
            item.get("a").unwrap().as_array().unwrap(),
            &[Cbor::Int(1), Cbor::Int(2)]
        );
        assert_eq!(item.get("b").unwrap().as_f64(), Some(1.5));
        assert_eq!(item.get("c").unwrap().as_f64(), Some(100000.0));
    }

    #[test]
    fn refuses_malformed_input() {
        assert!(decode(&[0x62, b'a']).is_err()); // text of 2, one byte
        assert!(decode(&[0x01, 0x02]).is_err()); // trailing bytes
        assert!(decode(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[0xff]).is_err()); // a lone break
        assert!(decode(&[0x62, 0xff, 0xfe]).is_err()); // not UTF-8
        let deep: Vec<u8> = std::iter::repeat_n(0x81, 200).chain([0x01]).collect();
        assert!(decode(&deep).is_err());
    }
}
