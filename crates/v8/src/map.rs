//! Maps (V8's hidden classes): reading a map's instance type, size and bit fields, and telling
//! whether a word points to a map.
//!
//! A word is a map pointer when it is a strong pointer to an object whose own map has instance
//! type `MAP_TYPE`. coroner does not compare with a single meta map: since V8 12 each native
//! context has its own meta map (a map whose map is itself), so there are several.

use coroner_corefile::{AddressSpace, ReadError};

use crate::layout::Layout;
use crate::read::Reader;

/// The fixed header of a map, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapInfo {
    /// The map's untagged address.
    pub addr: u64,
    /// Instance type of the objects it describes.
    pub instance_type: u16,
    /// Their size in tagged words, 0 when variable.
    pub instance_size_in_words: u8,
    /// First in-object property word (JS objects), or constructor function index (primitives).
    pub inobject_properties_start: u8,
    /// Bit field.
    pub bit_field: u8,
    /// Bit field 2.
    pub bit_field2: u8,
    /// Bit field 3.
    pub bit_field3: u32,
}

impl MapInfo {
    /// The instance size in bytes, `None` for variable-size objects.
    pub fn instance_size(&self, layout: &Layout) -> Option<u64> {
        let words = u64::from(self.instance_size_in_words);
        (words != 0).then(|| words * layout.tagging.tagged_size)
    }

    /// The elements kind (from bit field 2).
    pub fn elements_kind(&self, layout: &Layout) -> u64 {
        layout.map.elements_kind.get(u64::from(self.bit_field2))
    }

    /// The number of own descriptors (from bit field 3).
    pub fn number_of_own_descriptors(&self, layout: &Layout) -> u64 {
        layout
            .map
            .number_of_own_descriptors
            .get(u64::from(self.bit_field3))
    }

    /// Whether objects of this map keep their properties in a dictionary.
    pub fn is_dictionary_map(&self, layout: &Layout) -> bool {
        u64::from(self.bit_field3) & layout.map.is_dictionary_map != 0
    }
}

/// Reads the map at untagged address `addr` (without checking that it is one).
pub fn read_map(layout: &Layout, space: &AddressSpace, addr: u64) -> Result<MapInfo, ReadError> {
    read_map_with(layout, &Reader::new(space), addr)
}

pub(crate) fn read_map_with(
    layout: &Layout,
    r: &Reader<'_>,
    addr: u64,
) -> Result<MapInfo, ReadError> {
    let m = &layout.map;
    Ok(MapInfo {
        addr,
        instance_type: r.u16(addr.wrapping_add(m.instance_type))?,
        instance_size_in_words: r.u8(addr.wrapping_add(m.instance_size_in_words))?,
        inobject_properties_start: r.u8(addr.wrapping_add(m.inobject_properties_start))?,
        bit_field: r.u8(addr.wrapping_add(m.bit_field))?,
        bit_field2: r.u8(addr.wrapping_add(m.bit_field2))?,
        bit_field3: r.u32(addr.wrapping_add(m.bit_field3))?,
    })
}

/// The instance type of the object at untagged address `addr` (through its map).
pub fn instance_type_of(layout: &Layout, space: &AddressSpace, addr: u64) -> Option<u16> {
    let r = Reader::new(space);
    let map = layout
        .tagging
        .strong(r.u64(addr.wrapping_add(layout.heap_object.map)).ok()?)?;
    r.u16(map.wrapping_add(layout.map.instance_type)).ok()
}

/// Whether `word` (a tagged value) points to a map: a strong pointer to an object whose map has
/// instance type `MAP_TYPE`. Unreadable memory is not a map.
pub fn is_map(layout: &Layout, space: &AddressSpace, word: u64) -> bool {
    is_map_with(layout, &Reader::new(space), word)
}

pub(crate) fn is_map_with(layout: &Layout, r: &Reader<'_>, word: u64) -> bool {
    let Some(addr) = layout.tagging.strong(word) else {
        return false;
    };
    let Ok(meta) = r.u64(addr.wrapping_add(layout.heap_object.map)) else {
        return false;
    };
    let Some(meta) = layout.tagging.strong(meta) else {
        return false;
    };
    r.u16(meta.wrapping_add(layout.map.instance_type))
        .is_ok_and(|t| t == layout.types.map)
}
