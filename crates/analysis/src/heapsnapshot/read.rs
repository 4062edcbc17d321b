//! Reading a V8 heap snapshot file (`.heapsnapshot`, as `v8.writeHeapSnapshot()`, DevTools or
//! coroner's `snapshot` write it): the graph in compact arrays, checked as it is read, for
//! `diff` of a core against a snapshot of the same process.
//!
//! The file is JSON: `snapshot.meta` names the fields of the flat `nodes` and `edges` arrays
//! and the names of node and edge types; `strings` holds the names. Every index in the file is
//! checked (an edge to a node past the end, edge counts that do not add up, a type out of
//! range): a damaged file is an error, never a panic.

use std::io::BufReader;
use std::path::Path;

use serde::Deserialize;

/// A heap snapshot, read.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFile {
    /// Per node: its type (an index into `node_types`).
    pub node_type: Vec<u8>,
    /// Per node: its name (an index into `strings`).
    pub node_name: Vec<u32>,
    /// Per node: its id (what DevTools shows as `@ID`).
    pub node_id: Vec<u64>,
    /// Per node: its self size in bytes.
    pub self_size: Vec<u64>,
    /// Per node: its first edge; the last entry is the edge count.
    pub first_edge: Vec<u32>,
    /// Per edge: its type (an index into `edge_types`).
    pub edge_type: Vec<u8>,
    /// Per edge: its name (an index into `strings`) or, for elements and hidden edges, its
    /// index.
    pub edge_name: Vec<u32>,
    /// Per edge: the node it points to.
    pub edge_to: Vec<u32>,
    /// The names.
    pub strings: Vec<String>,
    /// The names of node types (`object`, `closure`, `string`, ...).
    pub node_types: Vec<String>,
    /// The names of edge types (`property`, `element`, `context`, `weak`, ...).
    pub edge_types: Vec<String>,
}

#[derive(Deserialize)]
struct Raw {
    snapshot: RawHeader,
    nodes: Vec<u64>,
    edges: Vec<u64>,
    strings: Vec<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    meta: RawMeta,
}

#[derive(Deserialize)]
struct RawMeta {
    node_fields: Vec<String>,
    node_types: Vec<serde_json::Value>,
    edge_fields: Vec<String>,
    edge_types: Vec<serde_json::Value>,
}

/// Most nodes or edges read (a bound on data from a file: 2^32 - 1 is no index).
const MAX_ITEMS: usize = u32::MAX as usize - 1;

impl SnapshotFile {
    /// Reads and checks the heap snapshot at `path`; the error is one line.
    pub fn read(path: &Path) -> Result<SnapshotFile, String> {
        let file = std::fs::File::open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let raw: Raw = serde_json::from_reader(BufReader::with_capacity(1 << 20, file))
            .map_err(|e| format!("{} is not a V8 heap snapshot: {e}", path.display()))?;
        SnapshotFile::from_raw(raw).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn from_raw(raw: Raw) -> Result<SnapshotFile, String> {
        let meta = &raw.snapshot.meta;
        let field = |fields: &[String], name: &str| {
            fields
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| format!("the snapshot's nodes or edges have no field {name:?}"))
        };
        let (nt, nn, ni, ns, nc) = (
            field(&meta.node_fields, "type")?,
            field(&meta.node_fields, "name")?,
            field(&meta.node_fields, "id")?,
            field(&meta.node_fields, "self_size")?,
            field(&meta.node_fields, "edge_count")?,
        );
        let (et, en, eto) = (
            field(&meta.edge_fields, "type")?,
            field(&meta.edge_fields, "name_or_index")?,
            field(&meta.edge_fields, "to_node")?,
        );
        let names = |v: Option<&serde_json::Value>| -> Vec<String> {
            v.and_then(|t| t.as_array())
                .map(|a| {
                    a.iter()
                        .map(|s| s.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let node_types = names(meta.node_types.get(nt));
        let edge_types = names(meta.edge_types.get(et));
        let (stride, estride) = (meta.node_fields.len(), meta.edge_fields.len());
        if raw.nodes.len() % stride != 0 || raw.edges.len() % estride != 0 {
            return Err("its nodes or edges do not fill whole records".into());
        }
        let (n, m) = (raw.nodes.len() / stride, raw.edges.len() / estride);
        if n > MAX_ITEMS || m > MAX_ITEMS || n == 0 {
            return Err(format!("{n} nodes and {m} edges: not a heap this reads"));
        }
        let small = |v: u64, below: usize, what: &str| -> Result<u32, String> {
            u32::try_from(v)
                .ok()
                .filter(|&x| (x as usize) < below)
                .ok_or_else(|| format!("{what} {v} is out of range"))
        };
        let mut out = SnapshotFile {
            node_types,
            edge_types,
            ..SnapshotFile::default()
        };
        let mut edges = 0usize;
        for node in raw.nodes.chunks_exact(stride) {
            out.node_type
                .push(small(node[nt], out.node_types.len(), "a node type")? as u8);
            out.node_name
                .push(small(node[nn], raw.strings.len(), "a node name")?);
            out.node_id.push(node[ni]);
            out.self_size.push(node[ns]);
            out.first_edge.push(edges as u32);
            edges = edges
                .checked_add(usize::try_from(node[nc]).unwrap_or(usize::MAX))
                .filter(|&e| e <= m)
                .ok_or("its nodes have more edges than it lists")?;
        }
        if edges != m {
            return Err(format!("its nodes have {edges} edges, it lists {m}"));
        }
        out.first_edge.push(edges as u32);
        for edge in raw.edges.chunks_exact(estride) {
            let kind = small(edge[et], out.edge_types.len(), "an edge type")?;
            out.edge_type.push(kind as u8);
            // Element and hidden edges carry an index, the others a string.
            let indexed = matches!(out.edge_types[kind as usize].as_str(), "element" | "hidden");
            out.edge_name.push(if indexed {
                u32::try_from(edge[en]).unwrap_or(u32::MAX)
            } else {
                small(edge[en], raw.strings.len(), "an edge name")?
            });
            let to = edge[eto];
            if to % stride as u64 != 0 {
                return Err(format!("an edge points inside a node record ({to})"));
            }
            out.edge_to
                .push(small(to / stride as u64, n, "an edge's node")?);
        }
        out.strings = raw.strings;
        Ok(out)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.node_type.len()
    }

    /// Whether it has no node.
    pub fn is_empty(&self) -> bool {
        self.node_type.is_empty()
    }

    /// The edges of node `v`, as indices into the edge arrays.
    pub fn edges_of(&self, v: u32) -> std::ops::Range<usize> {
        let i = v as usize;
        match (self.first_edge.get(i), self.first_edge.get(i + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        }
    }

    /// The type name of node `v`.
    pub fn type_of(&self, v: u32) -> &str {
        self.node_type
            .get(v as usize)
            .and_then(|&t| self.node_types.get(t as usize))
            .map_or("", String::as_str)
    }

    /// The name of node `v`.
    pub fn name_of(&self, v: u32) -> &str {
        self.node_name
            .get(v as usize)
            .and_then(|&s| self.strings.get(s as usize))
            .map_or("", String::as_str)
    }

    /// The type name of edge `e`.
    pub fn edge_type_of(&self, e: usize) -> &str {
        self.edge_type
            .get(e)
            .and_then(|&t| self.edge_types.get(t as usize))
            .map_or("", String::as_str)
    }

    /// The name of a named edge `e` (none for elements and hidden edges).
    pub fn edge_name_of(&self, e: usize) -> Option<&str> {
        if matches!(self.edge_type_of(e), "element" | "hidden") {
            return None;
        }
        self.strings
            .get(*self.edge_name.get(e)? as usize)
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SnapshotFile, String> {
        SnapshotFile::from_raw(serde_json::from_str(text).map_err(|e| e.to_string())?)
    }

    const META: &str = r#"{"meta":{"node_fields":["type","name","id","self_size","edge_count"],
        "node_types":[["synthetic","object"]],"edge_fields":["type","name_or_index","to_node"],
        "edge_types":[["element","property"]]}}"#;

    #[test]
    fn reads_nodes_edges_and_names() {
        let text = format!(
            r#"{{"snapshot":{META},"nodes":[0,0,1,0,2, 1,1,3,40,0, 1,2,5,16,0],
            "edges":[1,1,5, 0,7,10],"strings":["","Walrus","Tusk"]}}"#
        );
        let s = parse(&text).expect("parsed");
        assert_eq!(s.len(), 3);
        assert_eq!((s.type_of(1), s.name_of(1)), ("object", "Walrus"));
        assert_eq!(s.self_size, vec![0, 40, 16]);
        assert_eq!(s.edges_of(0), 0..2);
        assert_eq!(s.edge_name_of(0), Some("Walrus"));
        assert_eq!(s.edge_name_of(1), None);
        assert_eq!(s.edge_to, vec![1, 2]);
    }

    #[test]
    fn damaged_files_are_errors() {
        let bad = [
            // An edge to a node past the end.
            r#""nodes":[0,0,1,0,1],"edges":[1,0,5],"strings":[""]"#,
            // Edge counts that do not add up.
            r#""nodes":[0,0,1,0,2],"edges":[1,0,0],"strings":[""]"#,
            // A name past the strings.
            r#""nodes":[0,9,1,0,0],"edges":[],"strings":[""]"#,
            // A node type out of range.
            r#""nodes":[7,0,1,0,0],"edges":[],"strings":[""]"#,
            // A partial record.
            r#""nodes":[0,0,1,0],"edges":[],"strings":[""]"#,
        ];
        for body in bad {
            let text = format!(r#"{{"snapshot":{META},{body}}}"#);
            assert!(parse(&text).is_err(), "{body}");
        }
    }
}
