//! Strings of every representation, decoded to UTF-16 code units: sequential one- and two-byte,
//! cons (iteratively, with an explicit stack and a node budget, so a cycle or a deep chain can
//! neither hang nor overflow the stack), sliced, thin, and external (the characters are read
//! through the data pointer V8 caches, wherever it points: malloc'd memory in the core, or the
//! executable's `.rodata` that the process image fills in).

use coroner_v8::types::StringRepresentation;

use crate::error::DecodeError;
use crate::model::{Class, HeapModel};
use crate::redact::{Redactor, MAX_DIGESTED};

/// Most string nodes (cons halves, slices, thin forwarding) one decode visits.
const NODE_BUDGET: u64 = 1_000_000;
/// Most code units reserved before decoding (a longer string grows its buffer as it is read).
const RESERVED_UNITS: u64 = 1 << 20;

/// Characters decoded from a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsString {
    /// The string's length in UTF-16 code units.
    pub length: u64,
    /// Its first code units (all of them unless `truncated`).
    pub units: Vec<u16>,
    /// Whether `units` stops before the end (a limit was asked for).
    pub truncated: bool,
}

impl JsString {
    /// The characters as Rust text (lone surrogates become U+FFFD).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf16_lossy(&self.units)
    }

    /// Whether the units are valid UTF-16 (no lone surrogates), so that the text is exact.
    pub fn is_well_formed(&self) -> bool {
        char::decode_utf16(self.units.iter().copied()).all(|c| c.is_ok())
    }
}

impl HeapModel<'_> {
    /// The string at untagged `addr`, at most `limit` code units of it (`None`: all).
    pub fn string(&self, addr: u64, limit: Option<u64>) -> Result<JsString, DecodeError> {
        let h = self.header(addr)?;
        if self.class_of(h.instance_type) != Class::String {
            return Err(DecodeError::WrongType {
                addr,
                expected: "string",
                found: self.type_name(h.instance_type),
            });
        }
        let length = self.string_length(addr)?;
        let want = limit.map_or(length, |l| l.min(length));
        let mut units = Vec::with_capacity(usize::try_from(want.min(RESERVED_UNITS)).unwrap_or(0));
        self.string_units(addr, 0, want, &mut units)?;
        Ok(JsString {
            length,
            truncated: want < length,
            units,
        })
    }

    /// The characters of the string at untagged `addr` as output shows them: at most `limit`
    /// of them as Rust text, or under `--redact` ([`HeapModel::with_redaction`]) its length and
    /// digest.
    pub fn shown_string(&self, addr: u64, limit: Option<u64>) -> Result<String, DecodeError> {
        match self.redactor() {
            Some(r) => {
                let (length, digest) = self.string_digest(addr, r)?;
                Ok(Redactor::placeholder(length, &digest))
            }
            None => self.string(addr, limit).map(|s| s.to_string_lossy()),
        }
    }

    /// The length of the string at untagged `addr` and the digest `--redact` shows for it (of
    /// its first [`MAX_DIGESTED`] code units and its length).
    pub(crate) fn string_digest(
        &self,
        addr: u64,
        r: &Redactor,
    ) -> Result<(u64, String), DecodeError> {
        let s = self.string(addr, Some(MAX_DIGESTED))?;
        Ok((s.length, r.digest_units(&s.units, s.length)))
    }

    /// The string a tagged word points to, in full, as Rust text (`None` when it is not a
    /// readable string). For names and keys.
    pub(crate) fn string_text(&self, word: u64, limit: u64) -> Option<String> {
        let addr = self.layout().tagging.strong(word)?;
        let s = self.string(addr, Some(limit)).ok()?;
        Some(s.to_string_lossy())
    }

    /// How the string at `addr` keeps its characters (sequential, cons, sliced, thin,
    /// external); `None` when it is no readable string.
    pub fn string_representation(&self, addr: u64) -> Option<StringRepresentation> {
        let h = self.header(addr).ok()?;
        let shape = self.layout().types.string_shape(h.instance_type)?;
        Some(shape.representation)
    }

    /// The length of the string at `addr`, in UTF-16 code units (its length field: cheap, for
    /// rejecting strings before decoding them).
    pub fn string_length(&self, addr: u64) -> Result<u64, DecodeError> {
        let raw = self.u32_at(addr, self.layout().string.length)?;
        let len = i32::from_le_bytes(raw.to_le_bytes());
        u64::try_from(len).map_err(|_| DecodeError::Invalid {
            addr,
            what: "string length",
            value: u64::from(raw),
        })
    }

    /// Appends code units `[from, from + count)` of the string at `addr` to `out`.
    fn string_units(
        &self,
        addr: u64,
        from: u64,
        count: u64,
        out: &mut Vec<u16>,
    ) -> Result<(), DecodeError> {
        let layout = self.layout();
        let st = &layout.string;
        let mut stack: Vec<(u64, u64, u64)> = vec![(addr, from, count)];
        let mut nodes = 0u64;
        while let Some((s, from, count)) = stack.pop() {
            if count == 0 {
                continue;
            }
            nodes += 1;
            if nodes > NODE_BUDGET {
                return Err(DecodeError::Unbounded {
                    addr,
                    what: "string parts",
                    steps: nodes,
                });
            }
            let h = self.header(s)?;
            let shape = layout.types.string_shape(h.instance_type).ok_or_else(|| {
                DecodeError::WrongType {
                    addr: s,
                    expected: "string",
                    found: self.type_name(h.instance_type),
                }
            })?;
            let length = self.string_length(s)?;
            let end =
                from.checked_add(count)
                    .filter(|&e| e <= length)
                    .ok_or(DecodeError::Invalid {
                        addr: s,
                        what: "string part bounds",
                        value: from.saturating_add(count),
                    })?;
            match shape.representation {
                StringRepresentation::Seq => {
                    let chars = s.wrapping_add(st.seq_chars);
                    self.copy_chars(chars, shape.one_byte, from, end, out)?;
                }
                StringRepresentation::External => {
                    let data = self.external_data(s)?;
                    self.copy_chars(data, shape.one_byte, from, end, out)?;
                }
                StringRepresentation::Thin => {
                    let actual = self.pointer(s, st.thin_actual, "thin string target")?;
                    stack.push((actual, from, count));
                }
                StringRepresentation::Sliced => {
                    let parent = self.pointer(s, st.sliced_parent, "sliced string parent")?;
                    let offset = self.smi(s, st.sliced_offset, "sliced string offset")?;
                    let offset = u64::try_from(offset).map_err(|_| DecodeError::Invalid {
                        addr: s,
                        what: "sliced string offset",
                        value: offset as u64,
                    })?;
                    let start = offset.checked_add(from).ok_or(DecodeError::Invalid {
                        addr: s,
                        what: "sliced string offset",
                        value: offset,
                    })?;
                    stack.push((parent, start, count));
                }
                StringRepresentation::Cons => {
                    let first = self.pointer(s, st.cons_first, "cons string first part")?;
                    let second = self.pointer(s, st.cons_second, "cons string second part")?;
                    let first_len = self.string_length(first)?;
                    if from >= first_len {
                        stack.push((second, from - first_len, count));
                    } else {
                        let take = count.min(first_len - from);
                        // The second part goes first on the stack: the first is taken next.
                        if count > take {
                            stack.push((second, 0, count - take));
                        }
                        stack.push((first, from, take));
                    }
                }
            }
        }
        Ok(())
    }

    /// Appends characters `[from, end)` of a flat character array at `chars`.
    fn copy_chars(
        &self,
        chars: u64,
        one_byte: bool,
        from: u64,
        end: u64,
        out: &mut Vec<u16>,
    ) -> Result<(), DecodeError> {
        let width = if one_byte { 1 } else { 2 };
        let start = chars.wrapping_add(from * width);
        let len = usize::try_from((end - from) * width).map_err(|_| DecodeError::Invalid {
            addr: chars,
            what: "string length",
            value: end,
        })?;
        let memory = self.heap().memory();
        let owned;
        let bytes: &[u8] = match memory.bytes(start, len) {
            Ok(b) => b,
            Err(_) => {
                // Spans two regions (or backings): copy.
                let mut buf = vec![0u8; len];
                memory.read(start, &mut buf)?;
                owned = buf;
                &owned
            }
        };
        if one_byte {
            out.extend(bytes.iter().map(|&b| u16::from(b)));
        } else {
            out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]])),
            );
        }
        Ok(())
    }

    /// The address of an external string's characters: the data pointer V8 caches. A cached
    /// external string keeps it itself (`string.external_resource_data`; only the cached types'
    /// maps are long enough to hold it); for an uncached one V8 keeps it in the C++ resource
    /// (`string.resource_cached_data`), when the resource let it: where it is not there, only a
    /// virtual call in the live process could say where the characters are. The embedder's own
    /// fields of the resource are not read: where each class keeps them is its own choice.
    fn external_data(&self, s: u64) -> Result<u64, DecodeError> {
        let layout = self.layout();
        let st = &layout.string;
        let h = self.header(s)?;
        let info = self.map_info(h.map)?;
        if info
            .instance_size(layout)
            .is_some_and(|size| size >= st.external_resource_data + layout.tagging.pointer_size)
        {
            let data = self.field(s, st.external_resource_data)?;
            if data != 0 {
                return Ok(data);
            }
        }
        let resource = self.field(s, st.external_resource)?;
        match self.word(resource.wrapping_add(st.resource_cached_data))? {
            0 => Err(DecodeError::Invalid {
                addr: s,
                what: "external string resource (no cached data pointer)",
                value: resource,
            }),
            data => Ok(data),
        }
    }
}
