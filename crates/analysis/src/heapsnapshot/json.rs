//! The `.heapsnapshot` JSON, written as a stream in V8's own layout: the `snapshot` header
//! (`meta` with the field and type names, the counts), then `nodes`, `edges` (flat arrays of
//! numbers, one node or edge per line as V8 writes them), the empty trace and location
//! sections, and `strings`. DevTools' loader finds the sections by name and parses the number
//! arrays as unsigned 32-bit integers, so every number written must fit one.

use std::io::{self, Write};

use super::kinds::NodeType;
use super::EdgeType;

/// Writes one snapshot to `out`, counting the bytes.
pub(super) struct SnapshotWriter<'w> {
    out: io::BufWriter<Counted<'w>>,
}

/// A writer that counts what goes through it.
struct Counted<'w> {
    inner: &'w mut dyn Write,
    bytes: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<'w> SnapshotWriter<'w> {
    pub(super) fn new(out: &'w mut dyn Write) -> SnapshotWriter<'w> {
        SnapshotWriter {
            out: io::BufWriter::with_capacity(
                1 << 20,
                Counted {
                    inner: out,
                    bytes: 0,
                },
            ),
        }
    }

    /// The header: `meta` as V8 writes it, with `node_count` and `edge_count`.
    pub(super) fn header(&mut self, nodes: u64, edges: u64) -> io::Result<()> {
        let meta = serde_json::json!({
            "node_fields": ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"],
            "node_types": [NodeType::NAMES, "string", "number", "number", "number", "number", "number"],
            "edge_fields": ["type", "name_or_index", "to_node"],
            "edge_types": [EdgeType::NAMES, "string_or_number", "node"],
            "trace_function_info_fields": ["function_id", "name", "script_name", "script_id", "line", "column"],
            "trace_node_fields": ["id", "function_info_index", "count", "size", "children"],
            "sample_fields": ["timestamp_us", "last_assigned_id"],
            "location_fields": ["object_index", "script_id", "line", "column"],
        });
        write!(self.out, "{{\"snapshot\":{{\"meta\":")?;
        serde_json::to_writer(&mut self.out, &meta)?;
        writeln!(
            self.out,
            ",\"node_count\":{nodes},\"edge_count\":{edges},\"trace_function_count\":0}},"
        )
    }

    /// `nodes`: type, name, id, self size, edge count (trace node and detachedness 0).
    pub(super) fn nodes(&mut self, nodes: impl Iterator<Item = [u64; 5]>) -> io::Result<()> {
        write!(self.out, "\"nodes\":[")?;
        for (i, [kind, name, id, size, edges]) in nodes.enumerate() {
            let sep = if i == 0 { "" } else { ",\n" };
            write!(self.out, "{sep}{kind},{name},{id},{size},{edges},0,0")?;
        }
        writeln!(self.out, "],")
    }

    /// `edges`: type, name or index, the target's index in `nodes` (its ordinal times the
    /// seven node fields).
    pub(super) fn edges(&mut self, edges: impl Iterator<Item = [u64; 3]>) -> io::Result<()> {
        const NODE_FIELDS: u64 = 7;
        write!(self.out, "\"edges\":[")?;
        for (i, [kind, name, to]) in edges.enumerate() {
            let sep = if i == 0 { "" } else { ",\n" };
            write!(self.out, "{sep}{kind},{name},{}", to * NODE_FIELDS)?;
        }
        write!(
            self.out,
            "],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[],\n"
        )
    }

    /// `strings`, the names the nodes and edges index, and the end of the document.
    pub(super) fn strings<'s>(&mut self, strings: impl Iterator<Item = &'s str>) -> io::Result<()> {
        write!(self.out, "\"strings\":[")?;
        for (i, s) in strings.enumerate() {
            if i > 0 {
                writeln!(self.out, ",")?;
            }
            serde_json::to_writer(&mut self.out, s)?;
        }
        writeln!(self.out, "]}}")
    }

    /// Flushes the output; the bytes written.
    pub(super) fn finish(self) -> io::Result<u64> {
        let counted = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok(counted.bytes)
    }
}
