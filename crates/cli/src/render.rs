//! Text rendering of decoded values (`inspect`, `findjsinstances -d`): an object with its
//! properties and elements one per line, nested values indented, leaves in their short form.
//!
//! The value tree is already bounded by `--depth` and `-l`; this module only walks it.

use std::fmt::Write as _;

use coroner_heap::{
    iso_date, FunctionDetail, Internal, InternalSlots, JsObject, PromiseState, Redactor, Value,
    ValueKind,
};

use crate::report::TextStyle;

const INDENT: &str = "  ";

/// Renders `value` as text lines (no trailing newline).
pub fn value(v: &Value, style: &TextStyle) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0, style);
    out
}

/// The heading of an expanded value: `0x... Walrus`, `0x... Array length 3`, `0x... Map size 2`.
fn heading(v: &Value, style: &TextStyle) -> String {
    let mut h = String::new();
    if let Some(a) = v.address {
        let _ = write!(h, "{} ", style.dim(&format!("{a:#x}")));
    }
    match &v.kind {
        ValueKind::Function { name, detail, .. } => {
            let n = Some(name.as_str())
                .filter(|n| !n.is_empty())
                .unwrap_or("(anonymous)");
            let _ = write!(h, "function {}", style.bold(n));
            if let Some(FunctionDetail::Closure {
                script: Some(script),
                position,
                ..
            }) = detail
            {
                let _ = write!(h, " at {script}");
                if let Some(p) = position {
                    let _ = write!(h, ":{}:{}", p.line, p.column);
                }
            }
        }
        ValueKind::Other { name, .. } => {
            let _ = write!(h, "<{}>", name.as_deref().unwrap_or("other"));
        }
        kind => {
            h.push_str(&style.bold(v.constructor().unwrap_or(type_word(kind))));
            // As Node's util.inspect names one: `Object [Generator]` (its prototypes have no
            // constructor of their own).
            if let ValueKind::Object {
                slots: Some(InternalSlots::Generator { .. }),
                ..
            } = kind
            {
                h.push_str(" [Generator]");
            }
        }
    }
    // As the short form says it: a collection's size, an array's length.
    let count = match &v.kind {
        ValueKind::Array { length, .. } => Some(("length", *length)),
        ValueKind::Map { size, .. } | ValueKind::Set { size, .. } => Some(("size", *size)),
        ValueKind::ArrayBuffer { byte_length, .. } => byte_length.map(|n| ("length", n)),
        ValueKind::TypedArray { view, .. } => view
            .as_ref()
            .and_then(|view| view.length)
            .map(|n| ("length", n)),
        _ => None,
    };
    if let Some((word, n)) = count {
        let _ = write!(h, " {word} {n}");
    }
    h
}

/// What an expanded object without a constructor name is called.
fn type_word(kind: &ValueKind) -> &'static str {
    match kind {
        ValueKind::Object { .. } => "Object",
        ValueKind::Array { .. } => "Array",
        ValueKind::Map { .. } => "Map",
        ValueKind::Set { .. } => "Set",
        ValueKind::Date { .. } => "Date",
        ValueKind::RegExp { .. } => "RegExp",
        ValueKind::Error { .. } => "Error",
        ValueKind::Promise { .. } => "Promise",
        ValueKind::ArrayBuffer { .. } => "ArrayBuffer",
        ValueKind::TypedArray { .. } => "TypedArray",
        ValueKind::Context { .. } => "Context",
        _ => "",
    }
}

/// True when the value has something to show beyond its short form.
fn is_expanded(v: &Value) -> bool {
    let listed = |o: &JsObject| o.properties.is_some() || o.elements.is_some();
    v.map.is_some()
        || v.error.is_some()
        || match &v.kind {
            ValueKind::Object { object, slots } => listed(object) || slots.is_some(),
            ValueKind::Array { object, .. } | ValueKind::RegExp { object, .. } => listed(object),
            ValueKind::Function { object, detail, .. } => listed(object) || detail.is_some(),
            ValueKind::Map {
                object, entries, ..
            } => listed(object) || entries.is_some(),
            ValueKind::Set {
                object, members, ..
            } => listed(object) || members.is_some(),
            ValueKind::Date { object, time } => listed(object) || time.and_then(iso_date).is_some(),
            ValueKind::Error {
                object, message, ..
            } => listed(object) || message.is_some(),
            ValueKind::Promise { object, state } => listed(object) || state.is_some(),
            ValueKind::ArrayBuffer { object, bytes, .. } => {
                listed(object) || bytes.is_some() || v.redacted.is_some()
            }
            ValueKind::TypedArray { object, view } => {
                listed(object)
                    || view.as_ref().is_some_and(|view| view.bytes.is_some())
                    || v.redacted.is_some()
            }
            ValueKind::Context { variables, .. } => variables.is_some(),
            _ => false,
        }
}

/// One line of an expanded value: a label, and a nested value or a text.
type Line<'a> = (String, Option<&'a Value>, String);

/// A nested value's line.
fn nested<'a>(label: &str, v: &'a Value) -> Line<'a> {
    (label.into(), Some(v), String::new())
}

/// A text line.
fn text<'a>(label: &str, text: String) -> Line<'a> {
    (label.into(), None, text)
}

/// A JS object's properties and elements, one line each.
fn object_lines<'a>(lines: &mut Vec<Line<'a>>, object: &'a JsObject) {
    object_lines_but(lines, object, &[]);
}

/// A JS object's properties and elements, one line each, but for the string-keyed properties
/// named in `shown` (the kind's own lines show them already). An accessor reads as DevTools
/// shows one, `[accessor]`, with its getter and setter functions when they are JS functions: a
/// core cannot run the getter.
fn object_lines_but<'a>(lines: &mut Vec<Line<'a>>, object: &'a JsObject, shown: &[&str]) {
    for p in object.properties.iter().flatten() {
        if !p.symbol && shown.contains(&p.name.as_str()) {
            continue;
        }
        if p.accessor {
            lines.push(text(&p.name, accessor_text(&p.value)));
        } else {
            lines.push((p.name.clone(), Some(&p.value), String::new()));
        }
    }
    for e in object.elements.iter().flatten() {
        lines.push((format!("[{}]", e.index), Some(&e.value), String::new()));
    }
}

/// An accessor property's value on one line: `[accessor]`, then its JS getter and setter.
fn accessor_text(v: &Value) -> String {
    let mut s = String::from("[accessor]");
    if let ValueKind::Other {
        internal: Some(Internal::AccessorPair { getter, setter }),
        ..
    } = &v.kind
    {
        for (word, f) in [("get", getter), ("set", setter)] {
            if let Some(f) = f {
                let _ = write!(s, " {word} {}", f.short());
            }
        }
    }
    s
}

/// The lines of an expanded value's kind, and the entries of a Map or Set (key, value).
fn kind_lines<'a>(
    v: &'a Value,
    pad: &str,
    style: &TextStyle,
) -> (Vec<Line<'a>>, Vec<(String, Option<&'a Value>)>) {
    let mut lines = Vec::new();
    let mut entries = Vec::new();
    match &v.kind {
        ValueKind::Object { object, slots } => {
            match slots {
                Some(InternalSlots::Proxy { target, handler }) => {
                    lines.push(nested("target", target));
                    lines.push(nested("handler", handler));
                }
                Some(InternalSlots::Primitive(primitive)) => {
                    lines.push(nested("primitive", primitive));
                }
                Some(InternalSlots::Generator {
                    function,
                    state,
                    context,
                }) => {
                    lines.push(text("state", state.name().to_string()));
                    lines.push(nested("function", function));
                    lines.push(nested("context", context));
                }
                None => {}
            }
            object_lines(&mut lines, object);
        }
        ValueKind::Function { object, detail, .. } => {
            let mut source = None;
            match detail {
                Some(FunctionDetail::Closure {
                    context, source: s, ..
                }) => {
                    lines.push(nested("context", context));
                    source = s.as_ref();
                }
                Some(FunctionDetail::Bound {
                    target,
                    this,
                    arguments,
                }) => {
                    lines.push(nested("target", target));
                    lines.push(nested("this", this));
                    for (i, a) in arguments.iter().enumerate() {
                        lines.push(nested(&format!("bound[{i}]"), a));
                    }
                }
                None => {}
            }
            object_lines(&mut lines, object);
            if let Some(src) = source {
                lines.push(text("source", src.clone()));
            }
        }
        ValueKind::Map {
            object, entries: e, ..
        } => {
            object_lines(&mut lines, object);
            for e in e.iter().flatten() {
                entries.push((leaf(&e.key, style), Some(&e.value)));
            }
        }
        ValueKind::Set {
            object, members, ..
        } => {
            object_lines(&mut lines, object);
            for m in members.iter().flatten() {
                entries.push((leaf(m, style), None));
            }
        }
        ValueKind::Date { object, time } => {
            if let Some(iso) = time.and_then(iso_date) {
                lines.push(text("value", iso));
            }
            object_lines(&mut lines, object);
        }
        ValueKind::RegExp {
            object,
            source,
            flags,
        } => {
            if let Some(src) = source {
                let flags = flags.as_deref().unwrap_or("");
                lines.push(text("source", format!("/{src}/{flags}")));
            }
            object_lines(&mut lines, object);
        }
        ValueKind::Error {
            object,
            stack,
            call_sites,
            ..
        } => {
            // The message is an own property, listed with the others. The stack V8 formatted,
            // or the call sites it would format, stand for the accessor that would return it.
            let shown: &[&str] = if stack.is_some() || call_sites.is_some() {
                &["stack"]
            } else {
                &[]
            };
            object_lines_but(&mut lines, object, shown);
            if let Some(stack) = stack {
                lines.push(text("stack", stack.replace('\n', &format!("\n{pad}  "))));
            }
            if let Some(sites) = call_sites {
                let mut t = "(call sites, .stack not read yet)".to_string();
                for s in sites {
                    t.push_str(&format!("\n{pad}    {}", call_site(s)));
                }
                lines.push(text("stack", t));
            }
        }
        ValueKind::Promise { object, state } => {
            if let Some(state) = state {
                lines.push(text("state", state.name().to_string()));
                if let PromiseState::Fulfilled(r) | PromiseState::Rejected(r) = state {
                    lines.push(nested("result", r));
                }
            }
            object_lines(&mut lines, object);
        }
        ValueKind::ArrayBuffer {
            object,
            byte_length,
            bytes,
        } => {
            if let Some(len) = byte_length {
                lines.push(text("byte length", len.to_string()));
            }
            if let Some(b) = bytes {
                lines.push(text("bytes", spaced_hex(b)));
            }
            if let (Some(d), Some(len)) = (&v.redacted, byte_length) {
                lines.push(text("bytes", Redactor::bytes_placeholder(*len, d)));
            }
            object_lines(&mut lines, object);
        }
        ValueKind::TypedArray { object, view } => {
            if let Some(view) = view {
                lines.push(nested("buffer", &view.buffer));
                lines.push(text("byte offset", view.byte_offset.to_string()));
                lines.push(text("byte length", view.byte_length.to_string()));
                if let Some(b) = &view.bytes {
                    lines.push(text("bytes", spaced_hex(b)));
                }
                if let Some(d) = &v.redacted {
                    let withheld = Redactor::bytes_placeholder(view.byte_length, d);
                    lines.push(text("bytes", withheld));
                }
            }
            object_lines(&mut lines, object);
        }
        ValueKind::Array { object, .. } => object_lines(&mut lines, object),
        ValueKind::Context {
            variables,
            previous,
        } => {
            if let Some(previous) = previous {
                lines.push(nested("previous", previous));
            }
            for var in variables.iter().flatten() {
                lines.push((var.name.clone(), Some(&var.value), String::new()));
            }
        }
        ValueKind::Other { .. }
        | ValueKind::Smi(_)
        | ValueKind::Number(_)
        | ValueKind::String { .. }
        | ValueKind::Boolean(_)
        | ValueKind::Null
        | ValueKind::Undefined
        | ValueKind::Hole
        | ValueKind::Symbol { .. }
        | ValueKind::BigInt { .. } => {}
    }
    (lines, entries)
}

fn write_value(out: &mut String, v: &Value, depth: usize, style: &TextStyle) {
    if !is_expanded(v) {
        out.push_str(&leaf(v, style));
        return;
    }
    out.push_str(&heading(v, style));
    let pad = INDENT.repeat(depth + 1);
    let (mut lines, entry_lines) = kind_lines(v, &pad, style);
    if let Some(m) = &v.map {
        let mut s = format!("{:#x} {}", m.address, m.instance_type);
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
        lines.push(text("map", s));
    }
    if let Some(e) = &v.error {
        lines.push(text("error", e.clone()));
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
    match (&v.kind, v.address) {
        (ValueKind::String { .. }, Some(a)) => format!("{short} {}", style.dim(&format!("{a:#x}"))),
        _ => short,
    }
}

/// Bytes as spaced hex: `01 02 ff`.
fn spaced_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Bytes in the largest unit that keeps a number ≥ 1, one decimal.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A captured call site as V8's stack traces print it: `at async new f (file:line:column)`,
/// `at file:line:column` when the function is anonymous.
pub fn call_site(s: &coroner_heap::CallSite) -> String {
    let place = match (&s.file, s.position) {
        (Some(f), Some(p)) => format!("{f}:{}:{}", p.line, p.column),
        (Some(f), None) => f.clone(),
        (None, _) => "<anonymous>".to_string(),
    };
    let prefix = match (s.is_async, s.constructor) {
        (true, _) => "async ",
        (false, true) => "new ",
        _ => "",
    };
    match &s.function {
        Some(name) => format!("at {prefix}{name} ({place})"),
        None => format!("at {prefix}{place}"),
    }
}
