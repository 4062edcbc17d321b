//! The layout's sections, a function each: every fact of a section asked for by its supplement
//! key (`js_object.elements`) and the metadata names that may hold it
//! (`class_JSObject__elements__`). The loader asks for the sections in a fixed order.

use std::collections::BTreeMap;

use super::facts::Facts;
use super::metadata::Metadata;
use super::*;
use crate::pages::Space;
use crate::types::{InstanceTypes, KnownTypes, TypeRange};

pub(super) fn heap_object(f: &mut Facts<'_>) -> HeapObjectLayout {
    HeapObjectLayout {
        map: f.off("heap_object.map", &["class_HeapObject__map__"]),
    }
}

pub(super) fn js_object(f: &mut Facts<'_>) -> JsObjectLayout {
    JsObjectLayout {
        properties_or_hash: f.off(
            "js_object.properties_or_hash",
            &["class_JSReceiver__raw_properties_or_hash__"],
        ),
        elements: f.off("js_object.elements", &["class_JSObject__elements__"]),
        header_size: f.off(
            "js_object.header_size",
            &["class_JSObject__internal_fields__"],
        ),
    }
}

pub(super) fn js_array(f: &mut Facts<'_>) -> JsArrayLayout {
    JsArrayLayout {
        length: f.off("js_array.length", &["class_JSArray__length__"]),
    }
}

pub(super) fn fixed_array(f: &mut Facts<'_>) -> FixedArrayLayout {
    FixedArrayLayout {
        length: f.off("fixed_array.length", &["class_FixedArrayBase__length__"]),
        header_size: f.off("fixed_array.header_size", &["class_FixedArray__data__"]),
        double_hole: (f.off("fixed_array.double_hole_upper", &["HoleNanUpper32"]) << 32)
            | f.off("fixed_array.double_hole_lower", &["HoleNanLower32"]),
    }
}

pub(super) fn oddball(f: &mut Facts<'_>) -> OddballLayout {
    OddballLayout {
        to_number_raw: f.off("oddball.to_number_raw", &["class_Oddball__to_number_raw__"]),
        to_string: f.off("oddball.to_string", &["class_Oddball__to_string__"]),
        to_number: f.off("oddball.to_number", &["class_Oddball__to_number__"]),
        type_of: f.off("oddball.type_of", &["class_Oddball__type_of__"]),
        kind: f.off(
            "oddball.kind",
            &["class_Oddball__kind__", "class_Oddball__kind_offset__"],
        ),
        kind_false: f.int("oddball.kind_false", &["OddballFalse"]),
        kind_true: f.int("oddball.kind_true", &["OddballTrue"]),
        kind_null: f.int("oddball.kind_null", &["OddballNull"]),
        kind_undefined: f.int("oddball.kind_undefined", &["OddballUndefined"]),
        kind_the_hole: f.opt("oddball.kind_the_hole", &["OddballTheHole"]),
    }
}

pub(super) fn heap_number(f: &mut Facts<'_>) -> HeapNumberLayout {
    HeapNumberLayout {
        value: f.off("heap_number.value", &["class_HeapNumber__value__"]),
    }
}

pub(super) fn descriptor_array(f: &mut Facts<'_>) -> DescriptorArrayLayout {
    DescriptorArrayLayout {
        number_of_all_descriptors: f.off("descriptor_array.number_of_all_descriptors", &[]),
        number_of_descriptors: f.off("descriptor_array.number_of_descriptors", &[]),
        enum_cache: f.off("descriptor_array.enum_cache", &[]),
        header_size: f.off(
            "descriptor_array.header_size",
            &["class_DescriptorArray__header_size__"],
        ),
        entry_words: f.off("descriptor_array.entry_words", &["prop_desc_size"]),
        entry_key: f.off("descriptor_array.entry_key", &["prop_desc_key"]),
        entry_details: f.off("descriptor_array.entry_details", &["prop_desc_details"]),
        entry_value: f.off("descriptor_array.entry_value", &["prop_desc_value"]),
    }
}

pub(super) fn property_details(f: &mut Facts<'_>) -> PropertyDetailsLayout {
    PropertyDetailsLayout {
        kind: range(f, "property_details.kind", "prop_kind_mask", None),
        kind_accessor: f.off("property_details.kind_accessor", &["prop_kind_Accessor"]),
        location: range(
            f,
            "property_details.location",
            "prop_location_mask",
            Some("prop_location_shift"),
        ),
        location_descriptor: f.off(
            "property_details.location_descriptor",
            &["prop_location_Descriptor"],
        ),
        attributes: range(
            f,
            "property_details.attributes",
            "prop_attributes_mask",
            Some("prop_attributes_shift"),
        ),
        dont_enum: f.off("property_details.dont_enum", &["prop_attributes_DONT_ENUM"]),
        representation: range(
            f,
            "property_details.representation",
            "prop_representation_mask",
            Some("prop_representation_shift"),
        ),
        representation_double: f.off(
            "property_details.representation_double",
            &["prop_representation_double"],
        ),
        field_index: range(
            f,
            "property_details.field_index",
            "prop_index_mask",
            Some("prop_index_shift"),
        ),
        dictionary_index: supplement_range(f, "property_details.dictionary_index"),
    }
}

pub(super) fn property_array(f: &mut Facts<'_>) -> PropertyArrayLayout {
    PropertyArrayLayout {
        length_and_hash: f.off("property_array.length_and_hash", &[]),
        length: BitRange {
            mask: f.off("property_array.length_mask", &[]),
            shift: 0,
        },
        header_size: f.off("property_array.header_size", &[]),
    }
}

pub(super) fn hash_table(f: &mut Facts<'_>) -> HashTableLayout {
    HashTableLayout {
        number_of_elements_index: f.off("hash_table.number_of_elements_index", &[]),
        number_of_deleted_index: f.off("hash_table.number_of_deleted_index", &[]),
        capacity_index: f.off("hash_table.capacity_index", &[]),
        prefix_start_index: f.off(
            "hash_table.prefix_start_index",
            &["namedictionary_prefix_start_index"],
        ),
        name_dictionary_prefix_size: f.off(
            "hash_table.name_dictionary_prefix_size",
            &["namedictionaryshape_prefix_size"],
        ),
        name_dictionary_entry_size: f.off(
            "hash_table.name_dictionary_entry_size",
            &["namedictionaryshape_entry_size"],
        ),
        global_dictionary_entry_size: f.off(
            "hash_table.global_dictionary_entry_size",
            &["globaldictionaryshape_entry_size"],
        ),
        number_dictionary_prefix_size: f.off(
            "hash_table.number_dictionary_prefix_size",
            &["numberdictionaryshape_prefix_size"],
        ),
        number_dictionary_entry_size: f.off(
            "hash_table.number_dictionary_entry_size",
            &["numberdictionaryshape_entry_size"],
        ),
        global_dictionary_prefix_size: f.off(
            "hash_table.global_dictionary_prefix_size",
            &["globaldictionaryshape_prefix_size"],
        ),
        object_hash_table_prefix_size: f.off("hash_table.object_hash_table_prefix_size", &[]),
        object_hash_table_entry_size: f.off("hash_table.object_hash_table_entry_size", &[]),
        entry_key_index: f.off("hash_table.entry_key_index", &[]),
        dictionary_value_index: f.off("hash_table.dictionary_value_index", &[]),
        dictionary_details_index: f.off("hash_table.dictionary_details_index", &[]),
        object_hash_table_value_index: f.off("hash_table.object_hash_table_value_index", &[]),
    }
}

pub(super) fn collections(f: &mut Facts<'_>) -> CollectionsLayout {
    CollectionsLayout {
        table: f.off("collections.table", &[]),
        number_of_elements_index: f.off("collections.number_of_elements_index", &[]),
        number_of_deleted_index: f.off("collections.number_of_deleted_index", &[]),
        number_of_buckets_index: f.off("collections.number_of_buckets_index", &[]),
        buckets_start_index: f.off("collections.buckets_start_index", &[]),
        map_entry_words: f.off("collections.map_entry_words", &[]),
        set_entry_words: f.off("collections.set_entry_words", &[]),
        entry_key_index: f.off("collections.entry_key_index", &[]),
        map_value_index: f.off("collections.map_value_index", &[]),
    }
}

pub(super) fn js_function(f: &mut Facts<'_>) -> JsFunctionLayout {
    JsFunctionLayout {
        shared: f.off("js_function.shared", &["class_JSFunction__shared__"]),
        context: f.off("js_function.context", &["class_JSFunction__context__"]),
        feedback_cell: f.off(
            "js_function.feedback_cell",
            &["class_JSFunction__raw_feedback_cell__"],
        ),
        prototype_or_initial_map: f.off(
            "js_function.prototype_or_initial_map",
            &["class_JSFunction__prototype_or_initial_map__"],
        ),
        code: f.opt_off("js_function.code", &["class_JSFunction__code__"]),
        receiver_named_by_itself: f.int("js_function.receiver_named_by_itself", &[]) != 0,
    }
}

pub(super) fn shared_function_info(f: &mut Facts<'_>) -> SharedFunctionInfoLayout {
    SharedFunctionInfoLayout {
        function_data: f.off(
            "shared_function_info.function_data",
            &["class_SharedFunctionInfo__function_data__"],
        ),
        name_or_scope_info: f.off(
            "shared_function_info.name_or_scope_info",
            &["class_SharedFunctionInfo__name_or_scope_info__"],
        ),
        script: f.off(
            "shared_function_info.script",
            &[
                "class_SharedFunctionInfo__script__",
                "class_SharedFunctionInfo__script_or_debug_info__",
            ],
        ),
        length: f.off(
            "shared_function_info.length",
            &["class_SharedFunctionInfo__length__"],
        ),
        formal_parameter_count: f.off(
            "shared_function_info.formal_parameter_count",
            &["class_SharedFunctionInfo__internal_formal_parameter_count__"],
        ),
        flags: f.off(
            "shared_function_info.flags",
            &["class_SharedFunctionInfo__flags__"],
        ),
        feedback_metadata: f.off(
            "shared_function_info.feedback_metadata",
            &["class_SharedFunctionInfo__feedback_metadata__"],
        ),
        function_token_offset: f.off(
            "shared_function_info.function_token_offset",
            &["class_SharedFunctionInfo__raw_function_token_offset__"],
        ),
        function_token_out_of_range: f.off("shared_function_info.function_token_out_of_range", &[]),
        native: f.bit("shared_function_info.native_bit"),
    }
}

pub(super) fn script(f: &mut Facts<'_>) -> ScriptLayout {
    ScriptLayout {
        source: f.off("script.source", &["class_Script__source__"]),
        name: f.off("script.name", &["class_Script__name__"]),
        line_offset: f.off("script.line_offset", &["class_Script__line_offset__"]),
        column_offset: f.off("script.column_offset", &["class_Script__column_offset__"]),
        line_ends: f.off("script.line_ends", &["class_Script__line_ends__"]),
    }
}

pub(super) fn context(f: &mut Facts<'_>) -> ContextLayout {
    ContextLayout {
        scope_info_index: f.off("context.scope_info_index", &["context_idx_scope_info"]),
        previous_index: f.off("context.previous_index", &["context_idx_prev"]),
        min_slots: f.off("context.min_slots", &["context_min_slots"]),
        native_context_extra: f.off("context.native_context_extra", &[]),
        native_context_first_weak_slot: f.opt_off("context.native_context_first_weak_slot", &[]),
        extension_index: f.off("context.extension_index", &[]),
        native_context_embedder_data: f.opt_off(
            "context.native_context_embedder_data",
            &["native_context_embedder_data_offset"],
        ),
    }
}

pub(super) fn bytecode_array(f: &mut Facts<'_>) -> BytecodeArrayLayout {
    BytecodeArrayLayout {
        length: f.off(
            "bytecode_array.length",
            &[
                "class_BytecodeArray__length__",
                "class_FixedArrayBase__length__",
            ],
        ),
        header_size: f.off(
            "bytecode_array.header_size",
            &["class_BytecodeArray__data__"],
        ),
        source_position_table: f.off(
            "bytecode_array.source_position_table",
            &["class_BytecodeArray__source_position_table__"],
        ),
        frame_size: f.opt_off(
            "bytecode_array.frame_size",
            &["class_BytecodeArray__frame_size__"],
        ),
    }
}

pub(super) fn source_position(f: &mut Facts<'_>) -> SourcePositionLayout {
    SourcePositionLayout {
        is_external: f.bit("source_position.is_external_bit"),
        script_offset: supplement_range(f, "source_position.script_offset"),
        script_offset_bias: f.int("source_position.script_offset_bias", &[]),
        function_entry_offset: f.int("source_position.function_entry_offset", &[]),
        code_delta_flag_bits: f
            .opt_off("source_position.code_delta_flag_bits", &[])
            .and_then(|b| u32::try_from(b).ok()),
        inlining_id: supplement_range(f, "source_position.inlining_id"),
        inlining_id_bias: f.off("source_position.inlining_id_bias", &[]),
    }
}

pub(super) fn code(f: &mut Facts<'_>) -> CodeLayout {
    CodeLayout {
        instructions: f.off(
            "code.instructions",
            &["class_InstructionStream__instruction_start__"],
        ),
        deoptimization_data: f.off(
            "code.deoptimization_data",
            &["class_Code__deoptimization_data__"],
        ),
        source_position_table: f.off(
            "code.source_position_table",
            &["class_Code__source_position_table__"],
        ),
        literal_array_index: f.off(
            "code.literal_array_index",
            &["DeoptimizationDataLiteralArrayIndex"],
        ),
        inlining_positions_index: f.off(
            "code.inlining_positions_index",
            &["DeoptimizationDataInliningPositionsIndex"],
        ),
        inlining_position_size: f.off("code.inlining_position_size", &[]),
        inlining_position_function: f.off("code.inlining_position_function", &[]),
    }
}

/// The prefix bytecodes of `[bytecodes]`, with the executable's size table.
pub(super) fn bytecode_sizes(f: &mut Facts<'_>, sizes: Option<Vec<u8>>) -> Option<BytecodeSizes> {
    let wide = byte_list(f, "bytecodes.wide");
    let extra_wide = byte_list(f, "bytecodes.extra_wide");
    Some(BytecodeSizes {
        sizes: sizes.filter(|s| !s.is_empty() && s.len() % 3 == 0)?,
        wide,
        extra_wide,
    })
}

fn byte_list(f: &mut Facts<'_>, key: &str) -> Vec<u8> {
    f.int_list(key)
        .into_iter()
        .filter_map(|v| u8::try_from(v).ok())
        .collect()
}

pub(super) fn feedback_vector(f: &mut Facts<'_>) -> FeedbackVectorLayout {
    FeedbackVectorLayout {
        length: f.off(
            "feedback_vector.length",
            &["class_FeedbackVector__length__"],
        ),
        header_size: f.off("feedback_vector.header_size", &[]),
    }
}

pub(super) fn free_space(f: &mut Facts<'_>) -> FreeSpaceLayout {
    FreeSpaceLayout {
        size: f.off("free_space.size", &["class_FreeSpace__size__"]),
        size_unit: f.off("free_space.size_unit", &[]),
    }
}

pub(super) fn buffers(f: &mut Facts<'_>) -> BuffersLayout {
    BuffersLayout {
        backing_store: f.off(
            "buffers.backing_store",
            &["class_JSArrayBuffer__backing_store__"],
        ),
        buffer_byte_length: f.off(
            "buffers.buffer_byte_length",
            &["class_JSArrayBuffer__byte_length__"],
        ),
        view_buffer: f.off(
            "buffers.view_buffer",
            &["class_JSArrayBufferView__buffer__"],
        ),
        view_byte_offset: f.off(
            "buffers.view_byte_offset",
            &["class_JSArrayBufferView__byte_offset__"],
        ),
        view_byte_length: f.off(
            "buffers.view_byte_length",
            &["class_JSArrayBufferView__byte_length__"],
        ),
        typed_array_length: f.opt_off(
            "buffers.typed_array_length",
            &["class_JSTypedArray__length__"],
        ),
        typed_array_external_pointer: f.off(
            "buffers.typed_array_external_pointer",
            &["class_JSTypedArray__external_pointer__"],
        ),
        typed_array_base_pointer: f.off(
            "buffers.typed_array_base_pointer",
            &["class_JSTypedArray__base_pointer__"],
        ),
    }
}

pub(super) fn js_misc(f: &mut Facts<'_>) -> JsMiscLayout {
    JsMiscLayout {
        date_value: f.off("js_misc.date_value", &["class_JSDate__value__"]),
        date_value_encoding: match f.text("js_misc.date_value_encoding").as_str() {
            "tagged" => NumberEncoding::Tagged,
            "f64" => NumberEncoding::Float64,
            other => {
                f.invalid(
                    "js_misc.date_value_encoding",
                    &format!("{other:?}: expected tagged or f64"),
                );
                NumberEncoding::Tagged
            }
        },
        regexp_data: f.off("js_misc.regexp_data", &["class_JSRegExp__data__"]),
        regexp_source: f.off("js_misc.regexp_source", &["class_JSRegExp__source__"]),
        regexp_flags: f.off("js_misc.regexp_flags", &["class_JSRegExp__flags__"]),
        promise_reactions_or_result: f.off(
            "js_misc.promise_reactions_or_result",
            &["class_JSPromise__reactions_or_result__"],
        ),
        promise_flags: f.off("js_misc.promise_flags", &["class_JSPromise__flags__"]),
        promise_status: supplement_range(f, "js_misc.promise_status"),
        promise_pending: f.off("js_misc.promise_pending", &[]),
        promise_fulfilled: f.off("js_misc.promise_fulfilled", &[]),
        promise_rejected: f.off("js_misc.promise_rejected", &[]),
        promise_has_handler: f.bit("js_misc.promise_has_handler_bit"),
    }
}

pub(super) fn isolate(f: &mut Facts<'_>) -> IsolateLayout {
    IsolateLayout {
        roots: f.off("isolate.roots", &[]),
        heap: f.off("isolate.heap", &[]),
        self_pointer: f.off("isolate.self_pointer", &[]),
        new_allocation_info: f.off("isolate.new_allocation_info", &[]),
        old_allocation_info: f.off("isolate.old_allocation_info", &[]),
        lab_start: f.off("isolate.lab_start", &[]),
        lab_top: f.off("isolate.lab_top", &[]),
        lab_limit: f.off("isolate.lab_limit", &[]),
        thread_local_top: f.off("isolate.thread_local_top", &[]),
        c_entry_fp: f.off("isolate.c_entry_fp", &[]),
        js_entry_sp: f.off("isolate.js_entry_sp", &[]),
        thread_local_top_isolate: f.off("isolate.thread_local_top_isolate", &[]),
    }
}

pub(super) fn roots(f: &mut Facts<'_>) -> RootIndices {
    RootIndices {
        undefined: f.off("roots.undefined", &[]),
        the_hole: f.off("roots.the_hole", &[]),
        null: f.off("roots.null", &[]),
        true_value: f.off("roots.true_value", &[]),
        false_value: f.off("roots.false_value", &[]),
    }
}

pub(super) fn property_cell(f: &mut Facts<'_>) -> PropertyCellLayout {
    PropertyCellLayout {
        name: f.off("property_cell.name", &["class_PropertyCell__name__"]),
        details: f.off(
            "property_cell.details",
            &["class_PropertyCell__property_details_raw__"],
        ),
        value: f.off("property_cell.value", &["class_PropertyCell__value__"]),
    }
}

pub(super) fn symbol(f: &mut Facts<'_>) -> SymbolLayout {
    SymbolLayout {
        flags: f.off("symbol.flags", &["class_Symbol__flags__"]),
        description: f.off(
            "symbol.description",
            &["class_Symbol__description__", "class_Symbol__name__"],
        ),
        is_private: f.opt_bit("symbol.flag_bits.is_private").unwrap_or(0),
        is_well_known: f.bit("symbol.flag_bits.is_well_known_symbol"),
        is_private_name: f.opt_bit("symbol.flag_bits.is_private_name").unwrap_or(0),
        private_kind: private_symbol_kind(f),
    }
}

pub(super) fn big_int(f: &mut Facts<'_>) -> BigIntLayout {
    BigIntLayout {
        bitfield: f.off("big_int.bitfield", &["class_BigIntBase__bitfield__"]),
        sign: f.bit("big_int.sign_bit"),
        length: supplement_range(f, "big_int.length"),
        digits: f.off("big_int.digits", &["class_BigIntBase__digits__"]),
    }
}

pub(super) fn js_bound_function(f: &mut Facts<'_>) -> JsBoundFunctionLayout {
    JsBoundFunctionLayout {
        target: f.off(
            "js_bound_function.target",
            &["class_JSBoundFunction__bound_target_function__"],
        ),
        this: f.off(
            "js_bound_function.this",
            &["class_JSBoundFunction__bound_this__"],
        ),
        arguments: f.off(
            "js_bound_function.arguments",
            &["class_JSBoundFunction__bound_arguments__"],
        ),
    }
}

pub(super) fn js_proxy(f: &mut Facts<'_>) -> JsProxyLayout {
    JsProxyLayout {
        target: f.off("js_proxy.target", &["class_JSProxy__target__"]),
        handler: f.off("js_proxy.handler", &["class_JSProxy__handler__"]),
    }
}

pub(super) fn js_primitive_wrapper(f: &mut Facts<'_>) -> JsPrimitiveWrapperLayout {
    JsPrimitiveWrapperLayout {
        value: f.off(
            "js_primitive_wrapper.value",
            &["class_JSPrimitiveWrapper__value__"],
        ),
    }
}

pub(super) fn js_generator(f: &mut Facts<'_>) -> JsGeneratorLayout {
    JsGeneratorLayout {
        function: f.off(
            "js_generator.function",
            &["class_JSGeneratorObject__function__"],
        ),
        context: f.off(
            "js_generator.context",
            &["class_JSGeneratorObject__context__"],
        ),
        receiver: f.off(
            "js_generator.receiver",
            &["class_JSGeneratorObject__receiver__"],
        ),
        continuation: f.off(
            "js_generator.continuation",
            &["class_JSGeneratorObject__continuation__"],
        ),
        input_or_debug_pos: f.off(
            "js_generator.input_or_debug_pos",
            &["class_JSGeneratorObject__input_or_debug_pos__"],
        ),
        async_function_promise: f.off(
            "js_generator.async_function_promise",
            &["class_JSAsyncFunctionObject__promise__"],
        ),
        parameters_and_registers: f.off(
            "js_generator.parameters_and_registers",
            &["class_JSGeneratorObject__parameters_and_registers__"],
        ),
        closed: f.int("js_generator.closed", &[]),
        executing: f.int("js_generator.executing", &[]),
    }
}

/// `None` when the supplement does not describe it (only triage's heap figures need it).
pub(super) fn heap_statistics(f: &mut Facts<'_>) -> Option<HeapStatisticsLayout> {
    let mut off = |key: &str| f.opt_off(&format!("heap_statistics.{key}"), &[]);
    let sweeper = off("array_buffer_sweeper").zip(off("array_buffer_sweeper_bytes"));
    let open_lab = f.flag("heap_statistics.allocated_bytes_count_open_lab");
    let mut off = |key: &str| f.opt_off(&format!("heap_statistics.{key}"), &[]);
    Some(HeapStatisticsLayout {
        allocated_bytes_count_open_lab: open_lab,
        max_semi_space_size: off("max_semi_space_size")?,
        semi_space_factor: off("semi_space_factor")?,
        max_old_generation_size: off("max_old_generation_size")?,
        max_old_generation_size_holder: off("max_old_generation_size_holder"),
        external_memory: off("external_memory")?,
        array_buffer_sweeper: sweeper,
    })
}

/// `None` when the supplement does not describe it (its facts are all optional: only the
/// decoding of captured Error stacks needs them).
pub(super) fn call_site_info(f: &mut Facts<'_>) -> Option<CallSiteInfoLayout> {
    let mut off = |key: &str| f.opt_off(&format!("call_site_info.{key}"), &[]);
    Some(CallSiteInfoLayout {
        receiver_or_instance: off("receiver_or_instance")?,
        function: off("function")?,
        code_object: off("code_object")?,
        code_offset_or_source_position: off("code_offset_or_source_position")?,
        flags: off("flags")?,
        inline_stride: off("inline_stride"),
        bytecode_wrapper_bytecode: off("bytecode_wrapper_bytecode"),
        source_position_computed: f.opt_bit("call_site_info.source_position_computed_bit"),
        is_constructor: f.opt_bit("call_site_info.is_constructor_bit"),
        is_async: f.opt_bit("call_site_info.is_async_bit"),
    })
}

/// `None` where the version has no `ErrorStackData` (both facts absent).
pub(super) fn error_stack_data(f: &mut Facts<'_>) -> Option<ErrorStackDataLayout> {
    Some(ErrorStackDataLayout {
        call_site_infos_or_formatted_stack: f
            .opt_off("error_stack_data.call_site_infos_or_formatted_stack", &[])?,
        limit_or_stack_frame_infos: f
            .opt_off("error_stack_data.limit_or_stack_frame_infos", &[])?,
    })
}

pub(super) fn uncompiled_data(f: &mut Facts<'_>) -> UncompiledDataLayout {
    UncompiledDataLayout {
        inferred_name: f.off(
            "uncompiled_data.inferred_name",
            &["class_UncompiledData__inferred_name__"],
        ),
        start_position: f.off(
            "uncompiled_data.start_position",
            &["class_UncompiledData__start_position__"],
        ),
        end_position: f.off(
            "uncompiled_data.end_position",
            &["class_UncompiledData__end_position__"],
        ),
    }
}

pub(super) fn accessor_pair(f: &mut Facts<'_>) -> AccessorPairLayout {
    AccessorPairLayout {
        getter: f.off("accessor_pair.getter", &["class_AccessorPair__getter__"]),
        setter: f.off("accessor_pair.setter", &["class_AccessorPair__setter__"]),
    }
}

pub(super) fn feedback_cell(f: &mut Facts<'_>) -> FeedbackCellLayout {
    FeedbackCellLayout {
        value: f.off("feedback_cell.value", &["class_FeedbackCell__value__"]),
    }
}

pub(super) fn weak_refs(f: &mut Facts<'_>) -> WeakRefsLayout {
    WeakRefsLayout {
        js_weak_ref_target: f.off(
            "weak_refs.js_weak_ref_target",
            &["class_JSWeakRef__target__"],
        ),
        weak_cell_target: f.off("weak_refs.weak_cell_target", &["class_WeakCell__target__"]),
        weak_cell_unregister_token: f.off(
            "weak_refs.weak_cell_unregister_token",
            &["class_WeakCell__unregister_token__"],
        ),
    }
}

pub(super) fn promise_reaction(f: &mut Facts<'_>) -> PromiseReactionLayout {
    PromiseReactionLayout {
        next: f.off("promise_reaction.next", &["class_PromiseReaction__next__"]),
        reject_handler: f.off(
            "promise_reaction.reject_handler",
            &["class_PromiseReaction__reject_handler__"],
        ),
        fulfill_handler: f.off(
            "promise_reaction.fulfill_handler",
            &["class_PromiseReaction__fulfill_handler__"],
        ),
        promise_or_capability: f.off(
            "promise_reaction.promise_or_capability",
            &["class_PromiseReaction__promise_or_capability__"],
        ),
    }
}

/// The two-bit private kind of V8 14.6's symbols (`symbol.private_kind_mask`, absent before).
fn private_symbol_kind(f: &mut Facts<'_>) -> Option<PrivateSymbolKind> {
    let mask = f.opt_off("symbol.private_kind_mask", &[])?;
    Some(PrivateSymbolKind {
        field: BitRange {
            mask,
            shift: u32::try_from(f.off("symbol.private_kind_shift", &[])).unwrap_or(u32::MAX),
        },
        public: f.off("symbol.private_kind_public", &[]),
        field_name: f.off("symbol.private_kind_field_name", &[]),
        brand: f.off("symbol.private_kind_brand", &[]),
    })
}

/// `ContextCell`, where V8 has it (the supplement declares `context_cell.value` absent
/// elsewhere, and then nothing else of it is asked for).
pub(super) fn context_cell(f: &mut Facts<'_>) -> Option<ContextCellLayout> {
    let value = f.opt_off("context_cell.value", &["class_ContextCell__tagged_value__"])?;
    Some(ContextCellLayout {
        value,
        state: f.off("context_cell.state", &[]),
        raw_value: f.off("context_cell.raw_value", &[]),
        state_int32: f.off("context_cell.state_int32", &[]),
        state_float64: f.off("context_cell.state_float64", &[]),
    })
}

/// A bit range whose mask (and shift) the metadata gives; the supplement key gets `_mask` and
/// `_shift` suffixes. Without a shift symbol the shift is the mask's trailing zeros.
fn range(f: &mut Facts<'_>, key: &str, mask: &str, shift: Option<&str>) -> BitRange {
    let m = f.off(&format!("{key}_mask"), &[mask]);
    let s = match shift {
        Some(name) => f.off(&format!("{key}_shift"), &[name]),
        None => u64::from(m.trailing_zeros()),
    };
    BitRange {
        mask: m,
        shift: u32::try_from(s).unwrap_or(u32::MAX),
    }
}

/// A bit range the supplement alone gives, as `KEY_mask` and `KEY_shift`.
fn supplement_range(f: &mut Facts<'_>, key: &str) -> BitRange {
    let mask = f.off(&format!("{key}_mask"), &[]);
    let shift = f.off(&format!("{key}_shift"), &[]);
    BitRange {
        mask,
        shift: u32::try_from(shift).unwrap_or(u32::MAX),
    }
}

/// The elements kinds V8's enum defines, by name. The metadata names three of them
/// (`v8dbg_elements_*`), which win; the supplement lists them all (`[elements_kinds]`).
pub(super) fn elements_kinds(f: &mut Facts<'_>) -> ElementsKinds {
    let mut kinds: Vec<(String, u64)> = Vec::new();
    for (name, meta) in [
        ("PACKED_SMI_ELEMENTS", None),
        ("HOLEY_SMI_ELEMENTS", None),
        ("PACKED_ELEMENTS", Some("elements_fast_elements")),
        ("HOLEY_ELEMENTS", Some("elements_fast_holey_elements")),
        ("PACKED_DOUBLE_ELEMENTS", None),
        ("HOLEY_DOUBLE_ELEMENTS", None),
        ("DICTIONARY_ELEMENTS", Some("elements_dictionary_elements")),
    ] {
        let key = format!("elements_kinds.{name}");
        let v = match meta {
            Some(m) => f.off(&key, &[m]),
            None => f.off(&key, &[]),
        };
        kinds.push((name.to_string(), v));
    }
    for (name, v) in f.table("elements_kinds") {
        if kinds.iter().any(|(n, _)| *n == name) {
            continue;
        }
        match u64::try_from(v) {
            Ok(v) => kinds.push((name, v)),
            Err(_) => f.invalid(&format!("elements_kinds.{name}"), "negative elements kind"),
        }
    }
    ElementsKinds::new(kinds)
}

/// The `JSRegExp` flag bits (`[regexp_flags]`: letter = bit number), in the order JS prints
/// them (alphabetical: `dgilmsuvy`).
pub(super) fn user_roots(f: &mut Facts<'_>) -> UserRoots {
    match f.text("heap_snapshot.user_roots").as_str() {
        "global_objects" => UserRoots::GlobalObjects,
        "native_contexts" => UserRoots::NativeContexts,
        other => {
            f.invalid(
                "heap_snapshot.user_roots",
                &format!("{other:?}: expected global_objects or native_contexts"),
            );
            UserRoots::GlobalObjects
        }
    }
}

pub(super) fn regexp_flags(f: &mut Facts<'_>) -> RegExpFlags {
    let mut flags = Vec::new();
    for (letter, bit) in f.table("regexp_flags") {
        let mut chars = letter.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            f.invalid(&format!("regexp_flags.{letter}"), "not a single letter");
            continue;
        };
        match u32::try_from(bit).ok().and_then(|b| 1u64.checked_shl(b)) {
            Some(mask) => flags.push((c, mask)),
            None => f.invalid(&format!("regexp_flags.{letter}"), "bit number out of range"),
        }
    }
    if flags.is_empty() {
        f.invalid("regexp_flags", "no flag letters");
    }
    flags.sort_unstable();
    RegExpFlags { flags }
}

pub(super) fn tagging(f: &mut Facts<'_>) -> Tagging {
    Tagging {
        tagged_size: f.off("tagging.tagged_size", &["TaggedSize"]),
        pointer_size: f.off("tagging.pointer_size", &["SystemPointerSize"]),
        smi_shift: u32::try_from(
            f.off("tagging.smi_shift_size", &["SmiShiftSize"])
                + f.off("tagging.smi_tag_size", &["SmiValueShift"]),
        )
        .unwrap_or(u32::MAX),
        smi_tag_mask: f.off("tagging.smi_tag_mask", &["SmiTagMask"]),
        smi_tag: f.off("tagging.smi_tag", &["SmiTag"]),
        heap_object_tag_mask: f.off("tagging.heap_object_tag_mask", &["HeapObjectTagMask"]),
        heap_object_tag: f.off("tagging.heap_object_tag", &["HeapObjectTag"]),
        weak_tag: f.off("tagging.weak_tag", &[]),
        cleared_weak: f.off("tagging.cleared_weak", &[]),
    }
}

pub(super) fn string(f: &mut Facts<'_>) -> StringLayout {
    let t = |f: &mut Facts<'_>, key: &str, meta: &str| -> u16 {
        let v = f.int(key, &[meta]);
        // IsNotStringMask is -128 as an int: only its low 16 bits matter.
        (v & i64::from(u16::MAX)) as u16
    };
    StringLayout {
        raw_hash: f.off("string.raw_hash", &["class_Name__raw_hash_field__"]),
        length: f.off("string.length", &["class_String__length__"]),
        seq_chars: f.off("string.seq_chars", &["class_SeqOneByteString__chars__"]),
        cons_first: f.off("string.cons_first", &["class_ConsString__first__"]),
        cons_second: f.off("string.cons_second", &["class_ConsString__second__"]),
        sliced_parent: f.off("string.sliced_parent", &["class_SlicedString__parent__"]),
        sliced_offset: f.off("string.sliced_offset", &["class_SlicedString__offset__"]),
        thin_actual: f.off("string.thin_actual", &["class_ThinString__actual__"]),
        external_resource: f.off(
            "string.external_resource",
            &["class_ExternalString__resource__"],
        ),
        external_resource_data: f.off(
            "string.external_resource_data",
            &["class_ExternalString__resource_data__"],
        ),
        resource_cached_data: f.off("string.resource_cached_data", &[]),
        first_nonstring_type: t(f, "string.first_nonstring_type", "FirstNonstringType"),
        representation_mask: t(f, "string.representation_mask", "StringRepresentationMask"),
        encoding_mask: t(f, "string.encoding_mask", "StringEncodingMask"),
        seq_tag: t(f, "string.seq_tag", "SeqStringTag"),
        cons_tag: t(f, "string.cons_tag", "ConsStringTag"),
        external_tag: t(f, "string.external_tag", "ExternalStringTag"),
        sliced_tag: t(f, "string.sliced_tag", "SlicedStringTag"),
        thin_tag: t(f, "string.thin_tag", "ThinStringTag"),
        one_byte_tag: t(f, "string.one_byte_tag", "OneByteStringTag"),
        two_byte_tag: t(f, "string.two_byte_tag", "TwoByteStringTag"),
        not_internalized_bit: t(f, "string.not_internalized_bit", "IsNotInternalizedMask"),
    }
}

pub(super) fn map(f: &mut Facts<'_>) -> MapLayout {
    let own = "bit_field3_number_of_own_descriptors";
    MapLayout {
        instance_size_in_words: f.off(
            "map.instance_size_in_words",
            &["class_Map__instance_size_in_words__"],
        ),
        inobject_properties_start: f.off(
            "map.inobject_properties_start",
            &["class_Map__inobject_properties_start_or_constructor_function_index__"],
        ),
        instance_type: f.off("map.instance_type", &["class_Map__instance_type__"]),
        bit_field: f.off("map.bit_field", &["class_Map__bit_field__"]),
        bit_field2: f.off("map.bit_field2", &["class_Map__bit_field2__"]),
        bit_field3: f.off("map.bit_field3", &["class_Map__bit_field3__"]),
        prototype: f.off("map.prototype", &["class_Map__prototype__"]),
        constructor_or_back_pointer: f.off(
            "map.constructor_or_back_pointer",
            &["class_Map__constructor_or_back_pointer__"],
        ),
        instance_descriptors: f.off(
            "map.instance_descriptors",
            &["class_Map__instance_descriptors__"],
        ),
        dependent_code: f.off("map.dependent_code", &["class_Map__dependent_code__"]),
        transitions_or_prototype_info: f.off(
            "map.transitions_or_prototype_info",
            &[
                "class_Map__raw_transitions__",
                "class_Map__prototype_info__",
            ],
        ),
        elements_kind: range(
            f,
            "map.elements_kind",
            "bit_field2_elements_kind_mask",
            Some("bit_field2_elements_kind_shift"),
        ),
        number_of_own_descriptors: range(
            f,
            "map.number_of_own_descriptors",
            &format!("{own}_mask"),
            Some(&format!("{own}_shift")),
        ),
        is_dictionary_map: {
            let shift = f.off(
                "map.is_dictionary_map_shift",
                &["bit_field3_is_dictionary_map_shift"],
            );
            u32::try_from(shift)
                .ok()
                .and_then(|s| 1u64.checked_shl(s))
                .unwrap_or(0)
        },
        new_target_is_base: f.bit("map.bit_field2_bits.new_target_is_base"),
        is_prototype_map: f.bit("map.bit_field3_bits.is_prototype_map"),
    }
}

/// Frame slots and every `frametype_*` constant.
pub(super) fn frames(f: &mut Facts<'_>, meta: &Metadata) -> FrameLayout {
    let types = meta
        .with_prefix("frametype_")
        .into_iter()
        .map(|(n, v)| (n["frametype_".len()..].to_string(), v))
        .collect();
    let baseline = f.opt("frames.code_kind_baseline", &["CodeKindBaseline"]);
    FrameLayout {
        fp_context_or_frame_type: f.int(
            "frames.fp_context_or_frame_type",
            &["off_fp_context_or_frame_type"],
        ),
        fp_function: f.int("frames.fp_function", &["off_fp_function"]),
        fp_args: f.int("frames.fp_args", &["off_fp_args"]),
        fp_bytecode_array: f.int("frames.fp_bytecode_array", &["off_fp_bytecode_array"]),
        fp_bytecode_offset: f.int("frames.fp_bytecode_offset", &["off_fp_bytecode_offset"]),
        fp_argc: f.opt("frames.fp_argc", &[]),
        entry_next_exit_fp: f.opt("frames.entry_next_exit_fp", &[]),
        exit_sp: f.opt("frames.exit_sp", &[]),
        register_file: f.opt("frames.register_file", &[]),
        code_flags: f.opt_off("frames.code_flags", &["class_Code__flags__"]),
        code_kind_mask: f.opt("frames.code_kind_mask", &["CodeKindFieldMask"]),
        code_kind_shift: f.opt("frames.code_kind_shift", &["CodeKindFieldShift"]),
        code_kind_baseline: baseline,
        code_kind_maglev: baseline
            .zip(f.opt("frames.code_kind_maglev_after_baseline", &[]))
            .map(|(b, d)| b + d),
        code_kind_turbofan: baseline
            .zip(f.opt("frames.code_kind_turbofan_after_baseline", &[]))
            .map(|(b, d)| b + d),
        instruction_stream_code: f.opt_off("frames.instruction_stream_code", &[]),
        types,
    }
}

pub(super) fn page(f: &mut Facts<'_>) -> PageLayout {
    let header = match f.text("page.header").as_str() {
        "on_page" => PageHeader::OnPage,
        "metadata_on_page" => PageHeader::MetadataOnPage,
        "metadata_off_page" => PageHeader::MetadataOffPage,
        other => {
            f.invalid(
                "page.header",
                &format!("{other:?}: expected on_page, metadata_on_page or metadata_off_page"),
            );
            PageHeader::OnPage
        }
    };
    let size_bits = f.off("page.size_bits", &[]);
    let mut spaces = Vec::new();
    for (name, id) in f.table("spaces") {
        match (Space::from_v8_name(&name), u32::try_from(id)) {
            (Some(s), Ok(id)) => spaces.push((id, s)),
            _ => f.invalid(&format!("spaces.{name}"), "unknown space or number"),
        }
    }
    PageLayout {
        header,
        page_size: u32::try_from(size_bits)
            .ok()
            .and_then(|b| 1u64.checked_shl(b))
            .unwrap_or(0),
        flags: f.off("page.flags", &[]),
        metadata_pointer: f.opt_off("page.metadata_pointer", &[]),
        size: f.off("page.size", &[]),
        heap: f.off("page.heap", &[]),
        area_start: f.off("page.area_start", &[]),
        area_end: f.off("page.area_end", &[]),
        high_water_mark: f.off("page.high_water_mark", &[]),
        allocated_bytes: f.opt_off("page.allocated_bytes", &[]),
        list_next: f.off("page.list_next", &[]),
        list_prev: f.off("page.list_prev", &[]),
        owner: f.off("page.owner", &[]),
        reservation_address: f.opt_off("page.reservation_address", &[]),
        max_header_size: f.off("page.max_header_size", &[]),
        min_size: f.off("page.min_size", &[]),
        size_granularity: f.off("page.size_granularity", &[]),
        space_heap: f.off("page.space_heap", &[]),
        space_id: f.off("page.space_id", &[]),
        space_pages: f.off("page.space_pages", &[]),
        flag_read_only: f.bit("page.flag_bits.read_only_heap"),
        flag_large: f.bit("page.flag_bits.large_page"),
        flag_executable: f.bit("page.flag_bits.is_executable"),
        executable_flags: f.opt_off("page.executable_flags", &[]),
        flag_from_page: f.bit("page.flag_bits.from_page"),
        flag_to_page: f.bit("page.flag_bits.to_page"),
        spaces,
    }
}

pub(super) fn scope_info(f: &mut Facts<'_>) -> ScopeInfoLayout {
    let flags_encoding = match f.text("scope_info.flags_encoding").as_str() {
        "smi" => FlagsEncoding::Smi,
        "u32" => FlagsEncoding::U32,
        other => {
            f.invalid(
                "scope_info.flags_encoding",
                &format!("{other:?}: expected smi or u32"),
            );
            FlagsEncoding::Smi
        }
    };
    let mut parts = Vec::new();
    let part_names = match f.list("scope_info.parts") {
        Some(p) => p,
        None => {
            f.invalid("scope_info.parts", "a list of part names is needed");
            Vec::new()
        }
    };
    for name in part_names {
        let part = match name.as_str() {
            "module_variable_count" => ScopePart::ModuleVariableCount,
            "context_local_names" => ScopePart::ContextLocalNames,
            "context_local_infos" => ScopePart::ContextLocalInfos,
            "saved_class_variable_info" => ScopePart::SavedClassVariableInfo,
            "function_variable_info" => ScopePart::FunctionVariableInfo,
            "inferred_function_name" => ScopePart::InferredFunctionName,
            "position_info" => ScopePart::PositionInfo,
            "outer_scope_info" => ScopePart::OuterScopeInfo,
            "locals_block_list" => ScopePart::LocalsBlockList,
            "module_info" => ScopePart::ModuleInfo,
            "module_variables" => ScopePart::ModuleVariables,
            "dependent_code" => ScopePart::DependentCode,
            "unused_parameter_bits" => ScopePart::UnusedParameterBits,
            other => {
                f.invalid("scope_info.parts", &format!("unknown part {other:?}"));
                continue;
            }
        };
        parts.push(part);
    }
    let position_info_scopes = f
        .int_list("scope_info.position_info_scopes")
        .into_iter()
        .filter_map(|v| u64::try_from(v).ok())
        .collect();
    let bit = |f: &mut Facts<'_>, key: &str| -> u64 {
        match f.opt(key, &[]) {
            Some(b) => u32::try_from(b)
                .ok()
                .and_then(|b| 1u64.checked_shl(b))
                .unwrap_or(0),
            None => 0,
        }
    };
    ScopeInfoLayout {
        flags: f.off("scope_info.flags", &[]),
        flags_encoding,
        parameter_count: f.off("scope_info.parameter_count", &[]),
        context_local_count: f.off("scope_info.context_local_count", &[]),
        variable_part: f.off("scope_info.variable_part", &[]),
        max_inlined_local_names: f.off("scope_info.max_inlined_local_names", &[]),
        parts,
        scope_type: BitRange {
            mask: f.off("scope_info.scope_type_mask", &[]),
            shift: 0,
        },
        module_scope: f.off("scope_info.module_scope", &[]),
        class_scope: f.off("scope_info.class_scope", &[]),
        function_scope: f.off("scope_info.function_scope", &[]),
        position_info_scopes,
        has_saved_class_variable: bit(f, "scope_info.bits.has_saved_class_variable"),
        function_variable: BitRange {
            mask: f.off("scope_info.function_variable_mask", &[]),
            shift: u32::try_from(f.off("scope_info.function_variable_shift", &[]))
                .unwrap_or(u32::MAX),
        },
        has_inferred_function_name: bit(f, "scope_info.bits.has_inferred_function_name"),
        has_outer_scope_info: bit(f, "scope_info.bits.has_outer_scope_info"),
        has_locals_block_list: bit(f, "scope_info.bits.has_locals_block_list"),
        is_empty: bit(f, "scope_info.bits.is_empty"),
        sloppy_eval_can_extend_vars: bit(f, "scope_info.bits.sloppy_eval_can_extend_vars"),
        module_variable_words: f.off("scope_info.module_variable_words", &[]),
        position_info_words: f.off("scope_info.position_info_words", &[]),
        function_variable_words: f.off("scope_info.function_variable_words", &[]),
        position_info: f.opt_off("scope_info.position_info", &[]),
    }
}

/// The instance types coroner needs by name, and the ranges it classifies by.
pub(super) fn known_types(f: &mut Facts<'_>) -> KnownTypes {
    let mut numbers = BTreeMap::new();
    for &name in InstanceTypes::REQUIRED {
        numbers.insert(name, f.type_named(name));
    }
    let hole = f.opt_type_named("HOLE_TYPE");
    let range = |f: &mut Facts<'_>, key: &str, first: &[&str], last: &[&str]| TypeRange {
        first: f.type_fact(&format!("type_ranges.{key}_first"), first),
        last: f.type_fact(&format!("type_ranges.{key}_last"), last),
    };
    KnownTypes {
        numbers,
        hole,
        js_receiver: range(f, "js_receiver", &[], &[]),
        js_function: range(
            f,
            "js_function",
            &["FirstJSFunctionType"],
            &["LastJSFunctionType"],
        ),
        context: range(f, "context", &["FirstContextType"], &["LastContextType"]),
        js_api_object: range(f, "js_api_object", &["APIObjectType"], &[]),
    }
}
