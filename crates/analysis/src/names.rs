//! What to call an object where it appears as a holder or a target (`findrefs`, `retainers`):
//! its census name (`Walrus`, `(Array)`), `Function NAME` for functions, `Context NAME` for a
//! closure context (NAME: the closures that share it, or the function whose scope it is), the
//! type name for V8 internals (`FixedArray`).

use coroner_heap::{Class, HeapModel, Role};

use crate::index::ObjectIndex;
use crate::reverse::ReverseIndex;

/// The name of object `id` as a holder: see [`Reference::holder_name`]. `refs`, when built,
/// names a closure context after a closure that holds it.
pub(crate) fn holder_name(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: Option<&ReverseIndex>,
    id: u32,
) -> String {
    let Some(&addr) = index.addrs().get(id as usize) else {
        return "?".to_string();
    };
    let Some(map) = index
        .map_ids()
        .get(id as usize)
        .and_then(|&m| index.maps().get(m as usize))
    else {
        return "?".to_string();
    };
    let facts = model.map_facts(*map);
    match facts.class {
        Class::Function => {
            let name = model.function_name(addr).unwrap_or_default();
            if name.is_empty() {
                "Function (anonymous)".to_string()
            } else {
                format!("Function {name}")
            }
        }
        Class::Context => {
            let native = facts
                .info
                .is_some_and(|i| model.role_of(i.instance_type) == Some(Role::NativeContext));
            if native {
                return "NativeContext".to_string();
            }
            let closure = refs.and_then(|r| context_name(model, index, r, id, addr));
            match closure {
                Some(name) => format!("Context {name}"),
                None => "Context".to_string(),
            }
        }
        _ => {
            let name = model.census_name_of(addr, &facts);
            match name
                .strip_prefix("(internal: ")
                .and_then(|n| n.strip_suffix(')'))
            {
                Some(internal) => internal.to_string(),
                None => name.to_string(),
            }
        }
    }
}

/// The name of the closure context `id` (at `addr`): the name its closures share; else the
/// function whose scope it is, when that has a name; else the first closure's.
fn context_name(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: &ReverseIndex,
    id: u32,
    addr: u64,
) -> Option<String> {
    let mut closures: Vec<String> = refs
        .referrers(id)
        .filter(|&(f, _)| refs.class_of(index, f) == Class::Function)
        .filter_map(|(f, _)| {
            let a = *index.addrs().get(f as usize)?;
            // Only closures of this very context, not functions that hold it elsewhere.
            if model.function_context(a).ok() != Some(addr) {
                return None;
            }
            model.function_name(a).ok().filter(|n| !n.is_empty())
        })
        .collect();
    let first = closures.first().cloned();
    closures.sort_unstable();
    closures.dedup();
    if closures.len() == 1 {
        return first;
    }
    // The function whose scope this is: the SharedFunctionInfo holding the context's scope
    // info as its own.
    let scope = model
        .context_scope_info(addr)
        .ok()
        .and_then(|s| index.id_of(s));
    let owner = scope.and_then(|s| {
        refs.referrers(s).find_map(|(r, _)| {
            if refs.class_of(index, r) != Class::SharedFunctionInfo {
                return None;
            }
            let sfi = *index.addrs().get(r as usize)?;
            let name = model.shared_info(sfi).ok()?.debug_name().to_string();
            (!name.is_empty()).then_some(name)
        })
    });
    owner.or(first)
}
