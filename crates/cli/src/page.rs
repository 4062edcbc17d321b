//! The page `leaks --html FILE` writes: one self-contained HTML file (inline style and script,
//! no network) that opens from a laptop's disk. It shows the triage summary, a treemap of the
//! memory each object keeps alive (zoomable, down the dominator tree), the leak suspects with
//! their paths, the census with retained sizes and, with `--since OLD`, what grew.
//!
//! The data goes into the page as JSON in a `<script type="application/json">` element, with
//! `<`, `>` and `&` escaped so that no text from the core (a string can hold anything) can end
//! the element; the page's script sets it as text only, never as markup.

use std::io;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

/// The page template; its `/*DATA*/null` becomes the data.
const TEMPLATE: &str = include_str!("page.html");
const SLOT: &str = "/*DATA*/null";

/// Objects the treemap holds at most (the page stays small: about 150 bytes each).
pub const TREE_NODES: usize = 3000;

/// What the page shows. JSON field names are the page script's.
#[derive(Debug, Serialize)]
pub struct PageData {
    /// The core's path.
    pub core: String,
    /// `coroner VERSION`.
    pub generator: String,
    /// `triage`'s text.
    pub triage: String,
    /// Bytes the roots keep alive.
    pub reachable: u64,
    /// The least a suspect keeps alive.
    pub threshold: u64,
    /// The top of the dominator tree.
    pub tree: Vec<TreeCell>,
    /// `leaks --json`'s suspects.
    pub suspects: Value,
    /// The census with retained sizes.
    pub census: Vec<CensusCell>,
    /// `diff --json`'s document, with `--since`.
    pub growth: Option<Value>,
}

/// One object of the treemap: address, name, retained and own bytes, index of its dominator.
#[derive(Debug, Serialize)]
pub struct TreeCell {
    pub a: String,
    pub n: String,
    pub r: u64,
    pub s: u64,
    pub p: Option<usize>,
}

/// One census row.
#[derive(Debug, Serialize)]
pub struct CensusCell {
    pub name: String,
    pub count: u64,
    pub size: u64,
    pub retained: Option<u64>,
    pub distance: Option<u32>,
}

/// Writes the page to `path`; returns its size in bytes.
pub fn write(path: &Path, data: &PageData) -> io::Result<u64> {
    let json = serde_json::to_string(data).map_err(io::Error::other)?;
    let mut safe = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            c => safe.push(c),
        }
    }
    let page = TEMPLATE.replacen(SLOT, &safe, 1);
    std::fs::write(path, &page)?;
    Ok(page.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_core_cannot_end_the_data_element() {
        let dir = std::env::temp_dir().join(format!("coroner-page-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("page.html");
        let data = PageData {
            core: "</script><script>alert(1)</script>".into(),
            generator: "coroner".into(),
            triage: "a & b".into(),
            reachable: 1,
            threshold: 1,
            tree: Vec::new(),
            suspects: Value::Array(Vec::new()),
            census: Vec::new(),
            growth: None,
        };
        write(&path, &data).expect("write");
        let page = std::fs::read_to_string(&path).expect("read");
        let start = page
            .find(r#"<script type="application/json" id="data">"#)
            .expect("data");
        let end = start + page[start..].find("</script>").expect("end");
        let json = &page[start..end].split_once('>').expect("tag").1;
        let back: Value = serde_json::from_str(json).expect("json");
        assert_eq!(back["core"], "</script><script>alert(1)</script>");
        assert_eq!(back["triage"], "a & b");
        assert!(!page.contains("<script>alert"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
