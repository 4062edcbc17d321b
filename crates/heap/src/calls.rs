//! How V8's stack trace names a call: `Thing.method`, `Timeout.timerCb [as _onTimeout]`,
//! `process.processTimers`, `Array.forEach`. A frame whose receiver is an object (not
//! `undefined`, `null` or the global proxy) is a method call, and `Error.stack` prints it with
//! the receiver's constructor name before the function's name, and after it, in brackets, the
//! property of the receiver that holds the function when that is another name. Shown that way,
//! `bt` reads as the stack trace the process itself would have printed.
//!
//! The rules are V8's (`CallSiteInfo::GetTypeName`, `GetMethodName` and `AppendMethodCall` in
//! src/objects/call-site-info.cc), from the function and receiver alone: a method found by the
//! function's own name anywhere on the receiver's prototype chain, otherwise the one enumerable
//! own property of an object of the chain that holds the function (none when several do).

use crate::model::{Class, HeapModel};
use crate::properties::{Key, Slot};

/// Most objects of a prototype chain searched for a method (V8's chains are short; this bounds
/// a damaged one).
const CHAIN_LIMIT: usize = 64;

impl HeapModel<'_> {
    /// The name V8's `Error.stack` gives a call of the JS function at `function` (untagged)
    /// named `name` (its debug name, empty for an anonymous function) with the tagged
    /// `receiver`, when the call is a method call: `None` when the receiver is `undefined`,
    /// `null` or a global proxy (the function's own name is then the whole name) or cannot be
    /// read.
    pub fn method_call_name(&self, function: u64, name: &str, receiver: u64) -> Option<String> {
        let layout = self.layout();
        let (type_name, holder) = match self.class_of_word(receiver) {
            None if layout.tagging.smi(receiver).is_some() => ("Number".to_string(), None),
            None => return None,
            Some((_, Class::Oddball)) => {
                let kind = self.oddball_kind(receiver)?;
                let o = &layout.oddball;
                if kind == o.kind_undefined || kind == o.kind_null {
                    return None;
                }
                ("Boolean".to_string(), None)
            }
            Some((h, _)) if h.instance_type == layout.types.js_global_proxy => return None,
            Some((_, Class::String)) => ("String".to_string(), None),
            Some((_, Class::HeapNumber)) => ("Number".to_string(), None),
            Some((_, Class::Proxy)) => ("Proxy".to_string(), None),
            // A static method of a class is named by the class; from V8 13 any function
            // receiver is named by itself (`Module.executeUserEntryPoint`).
            Some((h, Class::Function))
                if layout.js_function.receiver_named_by_itself
                    || Some(h.instance_type)
                        == layout.types.number("JS_CLASS_CONSTRUCTOR_TYPE") =>
            {
                let own = self.function_name(h.addr).unwrap_or_default();
                let type_name = if own.is_empty() {
                    "Function".to_string()
                } else {
                    own
                };
                (type_name, Some(h.addr))
            }
            Some((h, class)) if class.is_receiver() => {
                let facts = self.map_facts(h.map);
                let census = self.census_name_of(h.addr, &facts);
                // The census brackets the kinds it names itself: `(Array)`, `(Function)`.
                let type_name = census
                    .strip_prefix('(')
                    .and_then(|n| n.strip_suffix(')'))
                    .unwrap_or(&census)
                    .to_string();
                (type_name, Some(h.addr))
            }
            Some(_) => return None,
        };
        let method = holder.and_then(|r| self.method_name(r, function));
        Some(method_call_text(&type_name, name, method.as_deref()))
    }

    /// The property through which the object at `receiver` reaches the function at `function`
    /// (`CallSiteInfo::GetMethodName`): the function's own name (without a `get `/`set `
    /// prefix; for an anonymous function, the last part of the name V8 inferred for it) if a
    /// property of that name on the prototype chain holds it, otherwise the one name under which
    /// enumerable own string-keyed properties of the objects of the chain hold it.
    fn method_name(&self, receiver: u64, function: u64) -> Option<String> {
        let info = self
            .function_shared(function)
            .and_then(|sfi| self.shared_info(sfi))
            .ok()?;
        let inferred = info.inferred_name.as_deref().unwrap_or("");
        let own = match info.name.as_str() {
            "" => inferred.rsplit('.').next().unwrap_or(""),
            name => name
                .strip_prefix("get ")
                .or_else(|| name.strip_prefix("set "))
                .unwrap_or(name),
        };
        let chain = self.receiver_chain(receiver);
        let holds = |slot: &Slot| self.slot_holds(slot, function);
        if !own.is_empty() {
            // The first property of that name along the chain decides, as a lookup would.
            for &object in &chain {
                let props = self.own_properties(object).ok()?;
                if let Some(p) = props.iter().find(|p| p.key.is(own)) {
                    if holds(&p.slot) {
                        return Some(own.to_string());
                    }
                    break;
                }
            }
        }
        let dont_enum = self.layout().property_details.dont_enum;
        let mut found: Option<String> = None;
        for &object in &chain {
            let Ok(props) = self.own_properties(object) else {
                break;
            };
            for p in props {
                let Key::String(key) = &p.key else { continue };
                if p.attributes & dont_enum != 0 || !holds(&p.slot) {
                    continue;
                }
                match &found {
                    Some(name) if name == key => {}
                    // Two names: V8 gives none rather than guess.
                    Some(_) => return None,
                    None => found = Some(key.clone()),
                }
            }
        }
        found
    }

    /// The object at `receiver` and its prototypes, up to a proxy, a repeat or the bound.
    fn receiver_chain(&self, receiver: u64) -> Vec<u64> {
        let mut chain = vec![receiver];
        let Ok(h) = self.header(receiver) else {
            return chain;
        };
        for proto in self.prototype_chain(h.map) {
            if chain.len() >= CHAIN_LIMIT {
                break;
            }
            chain.push(proto);
        }
        chain
    }

    /// Whether a property slot holds the function at `function`: as its data value, or as the
    /// getter or setter of its accessor pair.
    fn slot_holds(&self, slot: &Slot, function: u64) -> bool {
        let layout = self.layout();
        let is_it = |w: u64| layout.tagging.strong(w) == Some(function);
        match *slot {
            Slot::Data(w) => is_it(w),
            Slot::Accessor(w) => match self.class_of_word(w) {
                Some((h, _)) if h.instance_type == layout.types.accessor_pair => {
                    let ap = &layout.accessor_pair;
                    [ap.getter, ap.setter]
                        .into_iter()
                        .any(|at| self.field(h.addr, at).is_ok_and(is_it))
                }
                _ => false,
            },
        }
    }
}

/// V8's text of a method call (`AppendMethodCall`): the type name and a dot when the
/// function's name is a plain identifier other than the type name (`Module._compile` keeps its
/// own qualifier), the function's name, and ` [as method]` unless the name already ends with the
/// method (after a dot or a space: `get size`); an anonymous function shows the method, or
/// `<anonymous>`.
fn method_call_text(type_name: &str, function: &str, method: Option<&str>) -> String {
    let mut out = String::new();
    if function.is_empty() {
        if !type_name.is_empty() {
            out.push_str(type_name);
            out.push('.');
        }
        out.push_str(method.filter(|m| !m.is_empty()).unwrap_or("<anonymous>"));
        return out;
    }
    if !type_name.is_empty() && is_identifier(function) && function != type_name {
        out.push_str(type_name);
        out.push('.');
    }
    out.push_str(function);
    if let Some(m) = method.filter(|m| !m.is_empty()) {
        let ends_with_method = function == m
            || function
                .strip_suffix(m)
                .is_some_and(|head| head.ends_with('.') || head.ends_with(' '));
        if !ends_with_method {
            out.push_str(" [as ");
            out.push_str(m);
            out.push(']');
        }
    }
    out
}

/// Whether `name` is a JS identifier (`String::IsIdentifier`): a letter, `$` or `_`, then
/// letters, digits, `$`, `_` (Unicode letters and digits standing for ID_Start/ID_Continue).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_alphabetic() || first == '$' || first == '_')
        && chars.all(|c| {
            c.is_alphanumeric() || c == '$' || c == '_' || c == '\u{200c}' || c == '\u{200d}'
        })
}

#[cfg(test)]
mod tests {
    use super::method_call_text;

    #[test]
    fn method_calls_read_as_v8_prints_them() {
        assert_eq!(
            method_call_text("Thing", "method", Some("method")),
            "Thing.method"
        );
        assert_eq!(
            method_call_text("Timeout", "timerCb", Some("_onTimeout")),
            "Timeout.timerCb [as _onTimeout]"
        );
        assert_eq!(
            method_call_text("process", "processTimers", None),
            "process.processTimers"
        );
        assert_eq!(
            method_call_text("Module", "Module._compile", Some("_compile")),
            "Module._compile"
        );
        assert_eq!(
            method_call_text("Object", "Module._extensions..js", Some(".js")),
            "Module._extensions..js"
        );
        assert_eq!(
            method_call_text("Map", "get size", Some("size")),
            "get size"
        );
        assert_eq!(method_call_text("Walrus", "Walrus", None), "Walrus");
        assert_eq!(method_call_text("Object", "", Some("run")), "Object.run");
        assert_eq!(method_call_text("Object", "", None), "Object.<anonymous>");
    }
}
