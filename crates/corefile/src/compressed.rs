//! Compressed cores. systemd-coredump, the default on current Debian, Ubuntu and Fedora, stores
//! each core compressed (zstd, or lz4 or xz as configured), and people copy cores off servers as
//! `.gz` or `.zst`. A compressed core is told by its magic bytes, whatever its name, and is
//! decompressed once, streaming, into an unlinked temporary file that is then mapped like any
//! core (it vanishes with the process, even one killed). The file is written sparse: a core is
//! mostly the zero pages of reserved memory, so a 1.5 GiB core holding 60 MiB of data takes
//! about 60 MiB of disk and never all of it in memory.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
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
}

impl Compression {
    /// The format whose magic bytes `head` (the file's first bytes) starts with.
    pub fn of(head: &[u8]) -> Option<Compression> {
        const FORMATS: [(&[u8], Compression); 4] = [
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
            (&[0x04, 0x22, 0x4d, 0x18], Compression::Lz4),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
            (&[0x1f, 0x8b], Compression::Gzip),
        ];
        FORMATS
            .iter()
            .find(|(magic, _)| head.starts_with(magic))
            .map(|&(_, c)| c)
    }

    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::Xz => "xz",
            Compression::Gzip => "gzip",
        }
    }
}

/// The compression of the file at `path`, from its first bytes; `None` for anything else (an
/// uncompressed core among them). Opens the file: look at its type first (a FIFO would block).
pub fn compression_of(path: &Path) -> io::Result<Option<Compression>> {
    let mut head = [0u8; 6];
    let mut file = File::open(path)?;
    let mut len = 0;
    // Bounded: at most six bytes, each read returning at least one or ending the loop.
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
    /// The unlinked file holding the core.
    pub file: File,
    /// The decoder's error, when the compressed stream ended early or is corrupt: what came
    /// before it is in `file` (a core cut short, read as such).
    pub cut: Option<String>,
}

/// Decompresses `file` (compressed as `format`) into a sparse, unlinked temporary file in the
/// temporary directory (`TMPDIR`).
pub(crate) fn decompress(file: File, format: Compression) -> io::Result<Decompressed> {
    let input = BufReader::with_capacity(1 << 20, file);
    let mut out = SparseWriter {
        file: tempfile::tempfile()?,
        at: 0,
    };
    let copied = match format {
        Compression::Zstd => zstd::stream::read::Decoder::with_buffer(input)
            .and_then(|mut d| io::copy(&mut d, &mut out)),
        Compression::Lz4 => io::copy(&mut lz4_flex::frame::FrameDecoder::new(input), &mut out),
        Compression::Xz => io::copy(&mut xz2::bufread::XzDecoder::new(input), &mut out),
        Compression::Gzip => io::copy(&mut flate2::bufread::MultiGzDecoder::new(input), &mut out),
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
