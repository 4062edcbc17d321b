//! Text rendering of decoded values (`inspect`, `findjsinstances -d`): an object with its
//! properties and elements one per line, nested values indented, leaves in their short form.
//!
//! The value tree is already bounded by `--depth` and `-l`; this module only walks it.

use std::fmt::Write as _;

use coroner_heap::{Value, ValueType};

use crate::report::TextStyle;

const INDENT: &str = "  ";

/// Renders `value` as text lines (no trailing newline).
pub fn value(v: &Value, style: &TextStyle) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0, style);
    out
}

/// The heading of an expanded value: `0x... Walrus`, `0x... Array length 3`, ...
fn heading(v: &Value, style: &TextStyle) -> String {
    let mut h = String::new();
    if let Some(a) = v.address {
        let _ = write!(h, "{} ", style.dim(&format!("{:#x}", a.0)));
    }
    let kind = v.value_type();
    let name = match kind {
        ValueType::Function => {
            let n = v
                .name
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or("(anonymous)");
            let mut s = format!("function {}", style.bold(n));
            if let Some(script) = &v.script {
                let _ = write!(s, " at {script}");
                if let (Some(l), Some(c)) = (v.line, v.column) {
                    let _ = write!(s, ":{l}:{c}");
                }
            }
            s
        }
        ValueType::Other => format!("<{}>", v.name.as_deref().unwrap_or("other")),
        _ => style.bold(v.constructor.as_deref().unwrap_or(type_word(kind))),
    };
    h.push_str(&name);
    if let Some(len) = v.length {
        if !matches!(kind, ValueType::String) {
            let _ = write!(h, " length {len}");
        }
    }
    h
}

fn type_word(kind: ValueType) -> &'static str {
    match kind {
        ValueType::Object => "Object",
        ValueType::Array => "Array",
        ValueType::Map => "Map",
        ValueType::Set => "Set",
        ValueType::Date => "Date",
        ValueType::Regexp => "RegExp",
        ValueType::Error => "Error",
        ValueType::Promise => "Promise",
        ValueType::Arraybuffer => "ArrayBuffer",
        ValueType::Typedarray => "TypedArray",
        ValueType::Context => "Context",
        _ => "",
    }
}

/// True when the value has something to show beyond its short form.
fn is_expanded(v: &Value) -> bool {
    v.properties.is_some()
        || v.elements.is_some()
        || v.entries.is_some()
        || v.context.is_some()
        || v.message.is_some()
        || v.state.is_some()
        || v.bytes.is_some()
        || v.map.is_some()
        || v.source.is_some() && v.value_type() == ValueType::Function
        || v.target.is_some()
        || v.primitive.is_some()
        || v.iso.is_some()
        || v.error.is_some()
}

fn write_value(out: &mut String, v: &Value, depth: usize, style: &TextStyle) {
    if !is_expanded(v) {
        out.push_str(&leaf(v, style));
        return;
    }
    out.push_str(&heading(v, style));
    let pad = INDENT.repeat(depth + 1);
    let mut lines: Vec<(String, Option<&Value>, String)> = Vec::new();
    if let Some(iso) = &v.iso {
        lines.push(("value".into(), None, iso.clone()));
    }
    if let (ValueType::Regexp, Some(src)) = (v.value_type(), &v.source) {
        lines.push((
            "source".into(),
            None,
            format!("/{src}/{}", v.flags.as_deref().unwrap_or("")),
        ));
    }
    if let Some(m) = &v.message {
        lines.push(("message".into(), None, format!("{m:?}")));
    }
    if let Some(s) = &v.state {
        lines.push(("state".into(), None, s.clone()));
    }
    for (label, field) in [
        ("result", &v.result),
        ("primitive", &v.primitive),
        ("target", &v.target),
        ("this", &v.bound_this),
        ("handler", &v.handler),
        ("function", &v.function),
        ("buffer", &v.buffer),
        ("context", &v.context),
        ("previous", &v.previous),
    ] {
        if let Some(inner) = field {
            lines.push((label.into(), Some(inner), String::new()));
        }
    }
    if let Some(args) = &v.bound_arguments {
        for (i, a) in args.iter().enumerate() {
            lines.push((format!("bound[{i}]"), Some(a), String::new()));
        }
    }
    if let Some(off) = v.byte_offset {
        lines.push(("byte offset".into(), None, off.to_string()));
    }
    if let Some(len) = v.byte_length {
        lines.push(("byte length".into(), None, len.to_string()));
    }
    if let Some(b) = &v.bytes {
        lines.push(("bytes".into(), None, spaced_hex(b)));
    }
    if let Some(props) = &v.properties {
        for p in props {
            let name = if p.accessor {
                format!("{} (accessor)", p.name)
            } else {
                p.name.clone()
            };
            lines.push((name, Some(&p.value), String::new()));
        }
    }
    if let Some(elements) = &v.elements {
        for e in elements {
            lines.push((format!("[{}]", e.index), Some(&e.value), String::new()));
        }
    }
    let mut entry_lines = Vec::new();
    if let Some(entries) = &v.entries {
        for e in entries {
            let key = leaf(&e.key, style);
            match &e.value {
                Some(val) => entry_lines.push((key, Some(val))),
                None => entry_lines.push((key, None)),
            }
        }
    }
    if let Some(src) = v
        .source
        .as_ref()
        .filter(|_| v.value_type() == ValueType::Function)
    {
        lines.push(("source".into(), None, src.clone()));
    }
    if let Some(stack) = &v.stack {
        lines.push((
            "stack".into(),
            None,
            stack.replace('\n', &format!("\n{pad}  ")),
        ));
    }
    if let Some(m) = &v.map {
        let mut s = format!("{:#x} {}", m.address.0, m.instance_type);
        let _ = write!(
            s,
            ", {} bytes, {} in-object, {} descriptors{}",
            m.instance_size,
            m.inobject_properties,
            m.own_descriptors,
            if m.dictionary { ", dictionary" } else { "" }
        );
        if let Some(k) = &m.elements_kind {
            let _ = write!(s, ", {k}");
        }
        lines.push(("map".into(), None, s));
    }
    if let Some(e) = &v.error {
        lines.push(("error".into(), None, e.clone()));
    }
    out.push_str(" {");
    for (label, inner, text) in lines {
        let _ = write!(out, "\n{pad}{label}: ");
        match inner {
            Some(inner) => write_value(out, inner, depth + 1, style),
            None => out.push_str(&text),
        }
    }
    for (key, val) in entry_lines {
        let _ = write!(out, "\n{pad}{key}");
        if let Some(val) = val {
            out.push_str(" => ");
            write_value(out, val, depth + 1, style);
        }
    }
    if v.truncated {
        let _ = write!(out, "\n{pad}{}", style.dim("… (more: raise -l or --depth)"));
    }
    let _ = write!(out, "\n{}}}", INDENT.repeat(depth));
}

/// A value on one line: the short form, with the address of heap strings dimmed after it.
fn leaf(v: &Value, style: &TextStyle) -> String {
    let short = v.short();
    match (v.value_type(), v.address) {
        (ValueType::String, Some(a)) => format!("{short} {}", style.dim(&format!("{:#x}", a.0))),
        _ => short,
    }
}

/// `0102ff` → `01 02 ff`.
fn spaced_hex(hex: &str) -> String {
    let bytes = hex.as_bytes();
    let mut out = String::with_capacity(hex.len() * 3 / 2);
    for (i, pair) in bytes.chunks(2).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(std::str::from_utf8(pair).unwrap_or("??"));
    }
    out
}
