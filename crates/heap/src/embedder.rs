//! What the embedder (node) keeps in V8's objects and handles: the raw pointers in a native
//! context's embedder data (node's `Environment` is one), and the object behind a global handle
//! (a node `BaseObject`'s persistent handle). The node layer finds its C++ state through these.

use crate::error::DecodeError;
use crate::model::{HeapModel, Role};

impl HeapModel<'_> {
    /// The raw pointer the embedder stored in slot `index` of the embedder data of the native
    /// context at `native_context` (`Context::SetAlignedPointerInEmbedderData`). Without pointer
    /// compression a slot is one word holding the pointer as it was given.
    pub fn embedder_pointer(&self, native_context: u64, index: u64) -> Result<u64, DecodeError> {
        let layout = self.layout();
        let h = self.header(native_context)?;
        if self.role_of(h.instance_type) != Some(Role::NativeContext) {
            return Err(DecodeError::WrongType {
                addr: native_context,
                expected: "native context",
                found: self.type_name(h.instance_type),
            });
        }
        let offset = layout
            .context
            .native_context_embedder_data
            .ok_or(DecodeError::Invalid {
                addr: native_context,
                what: "embedder data offset (not in this build's metadata)",
                value: 0,
            })?;
        let data = self.pointer(native_context, offset, "embedder data")?;
        let length = self.smi(data, layout.fixed_array.length, "embedder data length")?;
        let length = u64::try_from(length).unwrap_or(0);
        if index >= length {
            return Err(DecodeError::Invalid {
                addr: data,
                what: "embedder data index",
                value: index,
            });
        }
        let slot = layout.fixed_array.header_size + index * layout.tagging.pointer_size;
        self.field(data, slot)
    }

    /// The object a V8 global handle holds: `slot` is the handle's location (what a
    /// `v8::Persistent` or `v8::Global` points to), whose word is the tagged object. `None` when
    /// the slot is unreadable or holds no heap object (an empty or freed handle).
    pub fn global_handle_object(&self, slot: u64) -> Option<u64> {
        let word = self.word(slot).ok()?;
        let addr = self.layout().tagging.strong(word)?;
        self.header(addr).ok().map(|_| addr)
    }
}
