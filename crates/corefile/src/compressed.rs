//! Compressed cores. systemd-coredump, the default on current Debian, Ubuntu and Fedora, stores
//! each core compressed (zstd, or lz4 or xz as configured), and people copy cores off servers as
//! `.gz` or `.zst`. A compressed core is told by its magic bytes, whatever its name, and is
//! decompressed once, streaming, into an unlinked temporary file that is then mapped like any
//! core (it vanishes with the process, even one killed). The file is written sparse: a core is
//! mostly the zero pages of reserved memory, so a 1.5 GiB core holding 60 MiB of data takes
//! about 60 MiB of disk and never all of it in memory.
//!
//! An apport crash report (Ubuntu's `/var/crash/*.crash`) is opened the same way: it is text,
//! `Key: value` fields, and its `CoreDump` field holds the core gzip-compressed and written as
//! base64, one independently encoded chunk per line indented by a space ([`ApportCore`]).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A compression format coroner opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard (systemd-coredump's default, `.zst`).
    Zstd,
    /// The LZ4 frame format (`.lz4`).
    Lz4,
    /// xz (`.xz`).
    Xz,
    /// gzip (`.gz`).
    Gzip,
    /// An apport crash report: the core gzip-compressed in base64 in its `CoreDump` field.
    Apport,
}

/// The first bytes of an apport crash report (its first field).
const APPORT_MAGIC: &[u8] = b"ProblemType: ";
/// The most bytes read before a report's `CoreDump` field (its other fields: the process's
/// maps, environment, logs).
const MAX_APPORT_PREAMBLE: u64 = 256 << 20;

impl Compression {
    /// The format whose magic bytes `head` (the file's first bytes) starts with.
    pub fn of(head: &[u8]) -> Option<Compression> {
        const FORMATS: [(&[u8], Compression); 5] = [
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
            (&[0x04, 0x22, 0x4d, 0x18], Compression::Lz4),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
            (&[0x1f, 0x8b], Compression::Gzip),
            (APPORT_MAGIC, Compression::Apport),
        ];
        FORMATS
            .iter()
            .find(|(magic, _)| head.starts_with(magic))
            .map(|&(_, c)| c)
    }

    /// What a file of this format is, for messages: `zstd-compressed`, `an apport crash
    /// report`.
    pub fn described(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd-compressed",
            Compression::Lz4 => "lz4-compressed",
            Compression::Xz => "xz-compressed",
            Compression::Gzip => "gzip-compressed",
            Compression::Apport => "an apport crash report",
        }
    }

    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::Xz => "xz",
            Compression::Gzip => "gzip",
            Compression::Apport => "apport report",
        }
    }
}

/// The compression of the file at `path`, from its first bytes; `None` for anything else (an
/// uncompressed core among them). Opens the file: look at its type first (a FIFO would block).
pub fn compression_of(path: &Path) -> io::Result<Option<Compression>> {
    let mut head = [0u8; APPORT_MAGIC.len()];
    let mut file = File::open(path)?;
    let mut len = 0;
    // Bounded: at most the longest magic, each read returning at least one byte or ending.
    while len < head.len() {
        match file.read(&mut head[len..])? {
            0 => break,
            n => len += n,
        }
    }
    Ok(Compression::of(&head[..len]))
}

/// How a decompression ended.
pub(crate) struct Decompressed {
    /// The file holding the core.
    pub file: File,
    /// The decoder's error, when the compressed stream ended early or is corrupt: what came
    /// before it is in `file` (a core cut short, read as such).
    pub cut: Option<String>,
}

/// Decompresses `file` (compressed as `format`) into `out` (empty), sparse.
pub(crate) fn decompress(file: File, format: Compression, out: File) -> io::Result<Decompressed> {
    let input = BufReader::with_capacity(1 << 20, file);
    let mut out = SparseWriter { file: out, at: 0 };
    let copied = match format {
        Compression::Zstd => zstd::stream::read::Decoder::with_buffer(input)
            .and_then(|mut d| io::copy(&mut d, &mut out)),
        Compression::Lz4 => io::copy(&mut lz4_flex::frame::FrameDecoder::new(input), &mut out),
        Compression::Xz => io::copy(&mut xz2::bufread::XzDecoder::new(input), &mut out),
        Compression::Gzip => io::copy(&mut flate2::bufread::MultiGzDecoder::new(input), &mut out),
        Compression::Apport => ApportCore::new(input).and_then(|core| {
            io::copy(
                &mut flate2::read::GzDecoder::new(BufReader::new(core)),
                &mut out,
            )
        }),
    };
    let cut = match copied {
        Ok(_) => None,
        // The disk filling up is not a property of the core.
        Err(e) if e.kind() == io::ErrorKind::StorageFull => return Err(e),
        Err(e) => Some(e.to_string()),
    };
    out.finish()?;
    Ok(Decompressed {
        file: out.file,
        cut,
    })
}

/// The gzip stream of an apport report's `CoreDump` field: its base64 lines decoded, one at a
/// time (apport encodes each chunk of the compressed core on its own line, padding and all).
struct ApportCore<R> {
    input: R,
    line: Vec<u8>,
    /// Decoded bytes of the current line not yet read, from `at`.
    decoded: Vec<u8>,
    at: usize,
    done: bool,
}

impl<R: BufRead> ApportCore<R> {
    /// Skips the report's fields up to `CoreDump: base64`.
    fn new(mut input: R) -> io::Result<ApportCore<R>> {
        let mut line = Vec::new();
        let mut seen = 0u64;
        loop {
            line.clear();
            let n = (&mut input)
                .take(MAX_APPORT_PREAMBLE - seen)
                .read_until(b'\n', &mut line)?;
            seen += n as u64;
            if n == 0 || seen >= MAX_APPORT_PREAMBLE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "it holds no core (no CoreDump field): apport keeps one only for the crashes it \
                     reports",
                ));
            }
            if line.trim_ascii_end() == b"CoreDump: base64" {
                return Ok(ApportCore {
                    input,
                    line,
                    decoded: Vec::new(),
                    at: 0,
                    done: false,
                });
            }
        }
    }

    /// Decodes the next line of the field; false at its end (a line that is not indented).
    fn next_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        // A line is one chunk's base64: bounded by what apport writes, and by this limit.
        let n = (&mut self.input)
            .take(MAX_APPORT_PREAMBLE)
            .read_until(b'\n', &mut self.line)?;
        if n == 0 || self.line.first() != Some(&b' ') {
            return Ok(false);
        }
        self.decoded = base64(self.line[1..].trim_ascii_end()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "corrupt base64 in its CoreDump")
        })?;
        self.at = 0;
        Ok(true)
    }
}

impl<R: BufRead> Read for ApportCore<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Bounded: each turn consumes a line of the input, which ends.
        while self.at == self.decoded.len() {
            if self.done || !self.next_line()? {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.decoded.len() - self.at);
        buf[..n].copy_from_slice(&self.decoded[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Standard base64 (with `=` padding) decoded; `None` when it is not base64.
fn base64(text: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    if text.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for quad in text.chunks(4) {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut bits = 0u32;
        for &c in &quad[..4 - pad] {
            bits = bits << 6 | value(c)?;
        }
        bits <<= 6 * pad;
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

/// Writes at increasing offsets, leaving holes where whole blocks are zero.
struct SparseWriter {
    file: File,
    at: u64,
}

/// The unit of sparseness: a page of the process's memory.
const BLOCK: usize = 4096;

impl SparseWriter {
    /// Sets the file's length to what was written (a trailing hole included).
    fn finish(&self) -> io::Result<()> {
        self.file.set_len(self.at)
    }
}

impl Write for SparseWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for block in buf.chunks(BLOCK) {
            if block.iter().any(|&b| b != 0) {
                self.file.write_all_at(block, self.at)?;
            }
            self.at = self
                .at
                .checked_add(block.len() as u64)
                .ok_or_else(|| io::Error::other("a core larger than 2^64 bytes"))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_magic() {
        assert_eq!(
            Compression::of(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::of(&[0x04, 0x22, 0x4d, 0x18, 0x64]),
            Some(Compression::Lz4)
        );
        assert_eq!(Compression::of(b"\xfd7zXZ\x00\x00"), Some(Compression::Xz));
        assert_eq!(Compression::of(&[0x1f, 0x8b, 8]), Some(Compression::Gzip));
        assert_eq!(Compression::of(b"\x7fELF\x02\x01"), None);
        assert_eq!(Compression::of(&[0x28, 0xb5]), None);
        assert_eq!(
            Compression::of(b"ProblemType: Crash\n"),
            Some(Compression::Apport)
        );
    }

    #[test]
    fn base64_as_apport_writes_it() {
        assert_eq!(base64(b"").as_deref(), Some(&b""[..]));
        assert_eq!(base64(b"TWFu").as_deref(), Some(&b"Man"[..]));
        assert_eq!(base64(b"TWE=").as_deref(), Some(&b"Ma"[..]));
        assert_eq!(base64(b"TQ==").as_deref(), Some(&b"M"[..]));
        assert_eq!(
            base64(b"H4sI+/8=").as_deref(),
            Some(&[0x1f, 0x8b, 0x08, 0xfb, 0xff][..])
        );
        assert_eq!(base64(b"TWF"), None);
        assert_eq!(base64(b"T==="), None);
        assert_eq!(base64(b"TW!u"), None);
    }

    #[test]
    fn an_apport_reports_core_is_its_coredump_field() {
        let report = b"ProblemType: Crash\nDate: Sun Dec  6 08:00:00 2026\nCoreDump: base64\n TWFu\n IGFuZCA=\n TQ==\nExecutablePath: /usr/bin/node\n";
        let mut core = ApportCore::new(&report[..]).expect("a CoreDump field");
        let mut out = Vec::new();
        core.read_to_end(&mut out).expect("decoded");
        assert_eq!(out, b"Man and M");
        let none = ApportCore::new(&b"ProblemType: Crash\nDate: now\n"[..]);
        assert!(none.is_err());
    }

    #[test]
    fn zero_blocks_become_holes_and_the_length_is_kept() {
        let mut w = SparseWriter {
            file: tempfile::tempfile().expect("temp file"),
            at: 0,
        };
        let mut data = vec![0u8; 3 * BLOCK + 10];
        data[BLOCK + 1] = 7;
        w.write_all(&data).expect("write");
        w.finish().expect("finish");
        let mut back = Vec::new();
        let mut f = &w.file;
        io::copy(&mut f, &mut back).expect("read back");
        assert_eq!(back, data);
    }
}
