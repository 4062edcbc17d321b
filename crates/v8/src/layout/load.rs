//! Building a [`Layout`]: choose the supplement by the process's Node major, read the
//! executable's metadata, and ask for every fact by its supplement key and metadata names, a
//! section at a time (`sections.rs`).

use std::collections::BTreeMap;

use coroner_image::{hex, ElfFile, ProcessImage};

use super::builds::{self, BuildTable};
use super::facts::Facts;
use super::metadata::Metadata;
use super::sections;
use super::supplement::{self, Supplement};
use super::*;
use crate::error::LayoutError;
use crate::size::SizeRules;
use crate::types::{InstanceTypes, StringBits};

/// Bytes of a pointer on x86-64, the only architecture coroner reads.
const WORD_SIZE: u64 = 8;

impl Layout {
    /// Loads the layout of the V8 in `image`.
    ///
    /// The build's table (`crates/v8/layouts/builds/`) is chosen by the build id the core keeps
    /// for the executable, else, for a release without a table, by the Node version found in
    /// the process: the table whose range of releases covers it, which the heap then checks
    /// on the core ([`LayoutSource::needs_check`]). The `v8dbg_*` constants come from the
    /// executable when it is at hand (the table fills only what it lacks), else from the table;
    /// the supplement of the Node major gives what no build exports.
    ///
    /// Fails when the build cannot be identified, its major is not supported, the build uses
    /// pointer compression, or any fact coroner needs is found nowhere (all listed at once).
    pub fn load(image: &ProcessImage) -> Result<Layout, LayoutError> {
        let build_id = image
            .executable()
            .and_then(|m| {
                let file_id = || m.file.as_ref()?.build_id();
                m.core_build_id.as_deref().or_else(file_id)
            })
            .map(hex);
        let (table, table_match) = match build_id.as_deref().and_then(builds::by_build_id) {
            Some(table) => (table.map_err(LayoutError::Table)?, TableMatch::BuildId),
            None => {
                let node =
                    image
                        .versions()
                        .node
                        .clone()
                        .ok_or_else(|| LayoutError::UnknownBuild {
                            build_id: build_id.clone(),
                        })?;
                let unsupported = || LayoutError::UnsupportedVersion {
                    found: node.clone(),
                    supported: builds::tabled_versions(),
                };
                let table = builds::covering(&node).ok_or_else(unsupported)?;
                (table.map_err(LayoutError::Table)?, TableMatch::ReleaseRange)
            }
        };
        let exe = Metadata::read(image).filter(|m| m.len() > 0);
        with_table(image, table, table_match, exe)
    }

    /// Loads the layout of the tabled release `release` (e.g. `22.23.3`), whatever the core
    /// says: its table's constants (not the executable's) and its major's supplement. For a core
    /// coroner cannot identify, or to try a table on a core; the layout always
    /// [needs the checks](LayoutSource::needs_check) on the core.
    pub fn load_with_table(image: &ProcessImage, release: &str) -> Result<Layout, LayoutError> {
        let table = builds::by_release(release)
            .ok_or_else(|| LayoutError::UnsupportedVersion {
                found: release.to_string(),
                supported: builds::tabled_versions(),
            })?
            .map_err(LayoutError::Table)?;
        with_table(image, table, TableMatch::Chosen, None)
    }
}

/// The layout from `table` and its major's supplement, with the executable's constants `exe`
/// over the table's when there are any.
fn with_table(
    image: &ProcessImage,
    table: BuildTable,
    table_match: TableMatch,
    exe: Option<Metadata>,
) -> Result<Layout, LayoutError> {
    let (file, text) =
        supplement::for_major(table.major).ok_or_else(|| LayoutError::UnsupportedVersion {
            found: format!("v{}", table.node_version),
            supported: builds::tabled_versions(),
        })?;
    // The executable of this very build must hold the table's constants: where it does not, the
    // file (or the core's copy of its data) is damaged, and the table is the one to trust.
    let damaged = exe
        .as_ref()
        .filter(|_| table_match == TableMatch::BuildId)
        .map(|exe| exe.disagreeing(&table.metadata))
        .filter(|names| !names.is_empty());
    // Node's constants likewise: the executable's runtime values (some are set by a static
    // initialiser), unless its V8 constants showed it damaged; the table fills the rest.
    let mut node = match (&exe, &damaged) {
        (Some(_), None) => Metadata::read_node(image).unwrap_or_default(),
        _ => Metadata::default(),
    };
    node.fill_from(&table.node_metadata);
    let node = NodeConstants::new(node.into_values());
    let (meta, metadata_from) = match (exe, damaged) {
        (Some(_), Some(names)) => (
            table.metadata,
            MetadataOrigin::TableOverDamagedExecutable {
                disagreeing: names.len(),
                first: format!("v8dbg_{}", names[0]),
            },
        ),
        (Some(mut meta), None) => {
            meta.fill_from(&table.metadata);
            (meta, MetadataOrigin::Executable)
        }
        (None, _) => (table.metadata, MetadataOrigin::Table),
    };
    if let Some(tagged_size) = meta.get("TaggedSize") {
        if meta.get("SystemPointerSize") != Some(tagged_size) {
            return Err(LayoutError::PointerCompression { tagged_size });
        }
    }
    let supp = Supplement::parse(text).map_err(|message| LayoutError::Supplement {
        supplement: file,
        message: message.split_whitespace().collect::<Vec<_>>().join(" "),
    })?;
    // A build id match makes the table's versions the process's; otherwise what the process
    // says of itself is kept (the table is another release's).
    let (node_version, v8_version) = match table_match {
        TableMatch::BuildId => (format!("v{}", table.node_version), Some(table.v8_version)),
        TableMatch::ReleaseRange | TableMatch::Chosen => (
            image
                .versions()
                .node
                .clone()
                .unwrap_or_else(|| format!("v{}", table.node_version)),
            image.versions().v8.clone(),
        ),
    };
    let source = LayoutSource {
        node_version,
        node_major: table.major,
        v8_version,
        supplement: file,
        metadata_constants: meta.len(),
        metadata_from,
        table: table.file,
        table_match,
    };
    // The executable's own lengths, else those its build's table recorded.
    let bytecode_sizes = image
        .exe_symbol_bytes(BYTECODE_SIZES_SYMBOL, MAX_BYTECODE_SIZES)
        .or(table.bytecode_sizes);
    let mut layout = build(
        source,
        &meta,
        &supp,
        &table.instance_types,
        bytecode_sizes,
        node,
    )?;
    // Facts read from code and read-only data: the executable's, else its own build's table
    // (never another release's).
    let own = table_match == TableMatch::BuildId;
    layout.microtask_queue = image
        .exe_file()
        .and_then(microtask_queue_of)
        .or_else(|| own.then(|| table.code.microtask_queue()).flatten());
    layout.heap_gc_state = image
        .exe_file()
        .and_then(gc_state_offset_of)
        .or_else(|| own.then(|| table.code.get("heap_gc_state")).flatten());
    layout.node.timer_base = own
        .then(|| table.code.get("environment_timer_base"))
        .flatten();
    Ok(layout)
}

/// The offset of `Heap::gc_state_` in the build of `file`: the displacement of the store
/// `mov [rdi + disp], esi` that `Heap::SetGCState` is (after a frame set-up in some builds).
pub fn gc_state_offset_of(file: &ElfFile) -> Option<u64> {
    let start = file.symbols().by_name(SET_GC_STATE_SYMBOL)?.address;
    let code = file.read_static(start, 16)?;
    code.windows(6).find_map(|w| match *w {
        // mov dword [rdi + disp32], esi
        [0x89, 0xb7, d0, d1, d2, d3] => u64::try_from(i32::from_le_bytes([d0, d1, d2, d3])).ok(),
        _ => None,
    })
}

/// V8's `MicrotaskQueue` offsets from the constants in the executable `file`'s read-only data
/// (`cargo xtask layouts` records them in the build's table too); `None` without them, or
/// when one is not a small offset.
pub fn microtask_queue_of(file: &ElfFile) -> Option<MicrotaskQueueLayout> {
    let offsets: Vec<u64> = MICROTASK_QUEUE_SYMBOLS
        .iter()
        .map(|name| {
            let sym = file.symbols().by_name(name)?;
            let bytes: [u8; 8] = file.read_static(sym.address, 8)?.try_into().ok()?;
            Some(u64::from_le_bytes(bytes)).filter(|&v| v < 4096)
        })
        .collect::<Option<_>>()?;
    let [size, capacity, start, ring_buffer] = offsets[..] else {
        return None;
    };
    Some(MicrotaskQueueLayout {
        size,
        capacity,
        start,
        ring_buffer,
    })
}

/// The instance type table: the build table's, with the metadata's `type_*` constants over it
/// (an alias the table does not print, such as `DEPENDENT_CODE_TYPE`, is added).
fn type_table(
    meta: &Metadata,
    tabled: &BTreeMap<String, u16>,
) -> (BTreeMap<String, u16>, Vec<Disagreement>) {
    let mut table = tabled.clone();
    let mut disagreements = Vec::new();
    for (name, v) in meta.instance_types() {
        let Ok(v) = u16::try_from(v) else { continue };
        if let Some(&old) = table.get(&name) {
            if old != v {
                disagreements.push(Disagreement {
                    fact: format!("instance_types.{name}"),
                    metadata: i64::from(v),
                    other: i64::from(old),
                    other_source: "build table".to_string(),
                });
            }
        }
        table.insert(name, v);
    }
    (table, disagreements)
}

/// The layout from the merged facts. Each section is read by a function of its own, in a fixed
/// order: the order in which missing facts are listed.
fn build(
    source: LayoutSource,
    meta: &Metadata,
    supp: &Supplement,
    tabled_types: &BTreeMap<String, u16>,
    bytecode_sizes: Option<Vec<u8>>,
    node: NodeConstants,
) -> Result<Layout, LayoutError> {
    let (table, type_disagreements) = type_table(meta, tabled_types);
    let mut f = Facts::new(meta, supp, table);
    f.use_section("object_size");

    let tagging = sections::tagging(&mut f);
    if tagging.pointer_size != WORD_SIZE || tagging.tagged_size != tagging.pointer_size {
        f.invalid(
            "tagging.pointer_size",
            &format!(
                "pointers of {} bytes and tagged fields of {}: coroner reads x86-64 heaps without pointer compression",
                tagging.pointer_size, tagging.tagged_size
            ),
        );
    }
    let string = sections::string(&mut f);
    let map = sections::map(&mut f);
    let heap_object = sections::heap_object(&mut f);
    let js_object = sections::js_object(&mut f);
    let js_array = sections::js_array(&mut f);
    let fixed_array = sections::fixed_array(&mut f);
    let oddball = sections::oddball(&mut f);
    let heap_number = sections::heap_number(&mut f);
    let descriptor_array = sections::descriptor_array(&mut f);
    let property_details = sections::property_details(&mut f);
    let property_array = sections::property_array(&mut f);
    let hash_table = sections::hash_table(&mut f);
    let collections = sections::collections(&mut f);
    let js_function = sections::js_function(&mut f);
    let shared_function_info = sections::shared_function_info(&mut f);
    let script = sections::script(&mut f);
    let context = sections::context(&mut f);
    let bytecode_array = sections::bytecode_array(&mut f);
    let source_position = sections::source_position(&mut f);
    let feedback_vector = sections::feedback_vector(&mut f);
    let free_space = sections::free_space(&mut f);
    let buffers = sections::buffers(&mut f);
    let js_misc = sections::js_misc(&mut f);
    let frames = sections::frames(&mut f, meta);
    let code = sections::code(&mut f);
    let bytecode_sizes = sections::bytecode_sizes(&mut f, bytecode_sizes);
    let page = sections::page(&mut f);
    let isolate = sections::isolate(&mut f);
    let roots = sections::roots(&mut f);
    let scope_info = sections::scope_info(&mut f);
    let property_cell = sections::property_cell(&mut f);
    let symbol = sections::symbol(&mut f);
    let big_int = sections::big_int(&mut f);
    let js_bound_function = sections::js_bound_function(&mut f);
    let js_proxy = sections::js_proxy(&mut f);
    let js_primitive_wrapper = sections::js_primitive_wrapper(&mut f);
    let js_generator = sections::js_generator(&mut f);
    let uncompiled_data = sections::uncompiled_data(&mut f);
    let call_site_info = sections::call_site_info(&mut f);
    let heap_statistics = sections::heap_statistics(&mut f);
    let error_stack_data = sections::error_stack_data(&mut f);
    let accessor_pair = sections::accessor_pair(&mut f);
    let context_cell = sections::context_cell(&mut f);
    let feedback_cell = sections::feedback_cell(&mut f);
    let weak_refs = sections::weak_refs(&mut f);
    let promise_reaction = sections::promise_reaction(&mut f);
    let elements_kinds = sections::elements_kinds(&mut f);
    let regexp_flags = sections::regexp_flags(&mut f);
    let user_roots = sections::user_roots(&mut f);
    let external_string_payload = f.flag("heap_snapshot.external_string_payload");
    let known = sections::known_types(&mut f);

    let strings = string_bits(&string);
    let seq_strings: Vec<(u16, bool)> = f
        .types()
        .values()
        .filter(|&&t| t < strings.first_nonstring && t & strings.representation_mask == strings.seq)
        .map(|&t| (t, t & strings.encoding_mask == strings.one_byte))
        .collect();
    let sizes = SizeRules::parse(supp.get("object_size"), f.types(), f.values(), &seq_strings);
    let table = f.types().clone();
    let outcome = f.finish();

    if !outcome.impossible.is_empty() {
        return Err(LayoutError::Impossible {
            version: source.node_version,
            names: outcome.impossible,
        });
    }
    let mut missing = outcome.missing;
    let sizes = match sizes {
        Ok(s) => s,
        Err(errors) => {
            missing.extend(errors);
            SizeRules::default()
        }
    };
    if !missing.is_empty() {
        missing.extend(outcome.missing_optional);
        return Err(LayoutError::Missing {
            version: source.node_version,
            supplement: source.supplement,
            names: missing,
        });
    }
    let fixed_array_like = sizes.types_of("fixed_array");
    let types = InstanceTypes::new(table, strings, known, fixed_array_like);
    let mut disagreements = type_disagreements;
    disagreements.extend(outcome.disagreements);
    Ok(Layout {
        source,
        tagging,
        types,
        sizes,
        heap_object,
        map,
        js_object,
        js_array,
        fixed_array,
        string,
        oddball,
        heap_number,
        descriptor_array,
        property_details,
        property_array,
        hash_table,
        collections,
        js_function,
        shared_function_info,
        script,
        context,
        scope_info,
        bytecode_array,
        source_position,
        feedback_vector,
        free_space,
        buffers,
        js_misc,
        frames,
        code,
        bytecode_sizes,
        page,
        isolate,
        roots,
        property_cell,
        symbol,
        big_int,
        js_bound_function,
        js_proxy,
        js_primitive_wrapper,
        js_generator,
        uncompiled_data,
        call_site_info,
        heap_statistics,
        error_stack_data,
        accessor_pair,
        feedback_cell,
        context_cell,
        weak_refs,
        promise_reaction,
        elements_kinds,
        regexp_flags,
        user_roots,
        external_string_payload,
        microtask_queue: None,
        heap_gc_state: None,
        node,
        missing_optional: outcome.missing_optional,
        disagreements,
        unused_keys: outcome.unused_keys,
        measured: Vec::new(),
    })
}

/// The string instance type bits, as the type table classifies strings by them.
fn string_bits(string: &StringLayout) -> StringBits {
    StringBits {
        first_nonstring: string.first_nonstring_type,
        representation_mask: string.representation_mask,
        encoding_mask: string.encoding_mask,
        seq: string.seq_tag,
        cons: string.cons_tag,
        external: string.external_tag,
        sliced: string.sliced_tag,
        thin: string.thin_tag,
        one_byte: string.one_byte_tag,
        not_internalized: string.not_internalized_bit,
    }
}
