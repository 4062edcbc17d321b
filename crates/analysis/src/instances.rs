//! The instances of a census name (`findjsinstances`): every object the census counts under
//! NAME, by address, with paging (`offset`, `limit`). A detailed census name (`Walrus {id,
//! name}`) selects the objects of that name with exactly those own properties.

use std::sync::Arc;

use coroner_heap::{Class, HeapModel, MapFacts};
use rayon::prelude::*;

use crate::census::{object_signature, PROTOTYPE_NAME};
use crate::index::ObjectIndex;

/// Which instances to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstancesQuery {
    /// A census name (`Walrus`, `(String)`, `(Prototype)`), or a detailed census name
    /// (`Walrus {id, name}`).
    pub name: String,
    /// Skip this many (in address order).
    pub offset: usize,
    /// List at most this many (`None`: all).
    pub limit: Option<usize>,
    /// Only objects of this isolate.
    pub isolate: Option<usize>,
}

/// The instances found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instances {
    /// How many objects have the name (before `offset` and `limit`).
    pub total: u64,
    /// The addresses listed, in address order.
    pub addresses: Vec<u64>,
}

/// Lists the objects of `query.name`.
pub(crate) fn instances(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    query: &InstancesQuery,
) -> Instances {
    let (name, signature) = split_detailed(&query.name);
    let prototypes = name == PROTOTYPE_NAME && signature.is_none();
    // Which maps carry the name (and, for a detailed name, the signature when it is per map).
    let facts: Vec<Arc<MapFacts>> = index
        .maps()
        .par_iter()
        .map(|&map| model.map_facts(map))
        .collect();
    let wanted: Vec<MapMatch> = facts
        .iter()
        .map(|f| {
            if prototypes {
                return MapMatch::Yes;
            }
            if signature.is_some() && f.class != Class::Object {
                return MapMatch::No;
            }
            if f.per_object_name {
                return MapMatch::PerObject;
            }
            if &*f.census_name != name {
                return MapMatch::No;
            }
            match signature {
                None => MapMatch::Yes,
                Some(sig) => match f.signature(model) {
                    Some(s) if &*s == sig => MapMatch::Yes,
                    Some(_) => MapMatch::No,
                    None => MapMatch::PerObject,
                },
            }
        })
        .collect();
    let runs: Vec<_> = index.run_ranges().collect();
    let found: Vec<Vec<u64>> = runs
        .par_iter()
        .map(|(run, ids)| {
            let mut out = Vec::new();
            if let Some(i) = query.isolate {
                if run.isolate != Some(i as u32) {
                    return out;
                }
            }
            for id in ids.clone() {
                let is_proto = index.is_function_prototype(id as u32);
                if is_proto != prototypes {
                    continue;
                }
                let m = index.map_ids()[id] as usize;
                let addr = index.addrs()[id];
                let take = match wanted[m] {
                    MapMatch::No => false,
                    MapMatch::Yes => true,
                    MapMatch::PerObject => {
                        let f = &facts[m];
                        &*model.census_name_of(addr, f) == name
                            && signature.is_none_or(|sig| match f.signature(model) {
                                Some(s) => &*s == sig,
                                None => object_signature(model, addr) == sig,
                            })
                    }
                };
                if take {
                    out.push(addr);
                }
            }
            out
        })
        .collect();
    let total: usize = found.iter().map(Vec::len).sum();
    let limit = query.limit.unwrap_or(usize::MAX);
    let mut addresses = Vec::with_capacity(total.saturating_sub(query.offset).min(limit));
    for addr in found.into_iter().flatten().skip(query.offset) {
        if addresses.len() >= limit {
            break;
        }
        addresses.push(addr);
    }
    Instances {
        total: total as u64,
        addresses,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MapMatch {
    No,
    Yes,
    PerObject,
}

/// `("Walrus", Some("{id, name}"))` for `Walrus {id, name}`; `("Walrus", None)` for `Walrus`.
fn split_detailed(name: &str) -> (&str, Option<&str>) {
    if name.ends_with('}') {
        if let Some(i) = name.find(" {") {
            return (&name[..i], Some(&name[i + 1..]));
        }
    }
    (name, None)
}

/// Names the census may hold, for suggestions when a name has no instances: the census names
/// of every map, deduplicated.
pub(crate) fn known_names(model: &HeapModel<'_>, index: &ObjectIndex) -> Vec<Arc<str>> {
    let mut names: Vec<Arc<str>> = index
        .maps()
        .par_iter()
        .map(|&m| Arc::clone(&model.map_facts(m).census_name))
        .collect();
    names.push(Arc::from(PROTOTYPE_NAME));
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::split_detailed;

    #[test]
    fn detailed_names_split() {
        assert_eq!(split_detailed("Walrus"), ("Walrus", None));
        assert_eq!(
            split_detailed("Walrus {id, name}"),
            ("Walrus", Some("{id, name}"))
        );
        assert_eq!(split_detailed("Object {}"), ("Object", Some("{}")));
        assert_eq!(split_detailed("(String)"), ("(String)", None));
    }
}
