//! A failed assertion in node's C++ (`CHECK(expr)` and friends, which call `node::Assert` with a
//! static `AssertionInfo { file_line, message, function }`), read back from the call: the
//! instruction that passes the description's address sits right before the call, and the
//! description itself is in the executable's read-only data.

use coroner_image::ProcessImage;

/// `node::Assert(const node::AssertionInfo&)`.
const ASSERT: &str = "_ZN4node6AssertERKNS_13AssertionInfoE";
/// Bytes read before the return address: the call (5) and the longest argument load (7).
const BEFORE: u64 = 12;
/// The longest string read from the description.
const MAX_TEXT: usize = 4096;

/// What a failed node assertion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The `AssertionInfo`.
    pub address: u64,
    /// `file:line` (`../src/tcp_wrap.cc:157`).
    pub location: String,
    /// The expression that was false (`args[0]->IsInt32()`).
    pub expression: String,
    /// The C++ function it is in.
    pub function: String,
}

/// The assertion `node::Assert` was called with by the call that returns to `return_address`
/// (the pc of the frame that called it); `None` when the code there is not such a call, or
/// the description cannot be read (it needs the executable: a core leaves read-only data out).
pub fn assertion(image: &ProcessImage, return_address: u64) -> Option<Assertion> {
    let start = return_address.checked_sub(BEFORE)?;
    let code = image.read_code(start, BEFORE as usize).ok()?;
    let [.., call, r0, r1, r2, r3] = code[..] else {
        return None;
    };
    let rel = i32::from_le_bytes([r0, r1, r2, r3]);
    if call != 0xe8 {
        return None;
    }
    if let Some(assert) = image.exe_runtime_address(ASSERT) {
        if return_address.wrapping_add_signed(i64::from(rel)) != assert {
            return None;
        }
    }
    let call_at = return_address - 5;
    let word = |at: usize| -> Option<i32> {
        Some(i32::from_le_bytes(code.get(at..at + 4)?.try_into().ok()?))
    };
    let address = match code[..] {
        // mov edi, imm32
        [.., 0xbf, _, _, _, _, 0xe8, _, _, _, _] => u64::from(word(3)? as u32),
        // lea rdi, [rip + disp32]
        [.., 0x48, 0x8d, 0x3d, _, _, _, _, 0xe8, _, _, _, _] => {
            call_at.wrapping_add_signed(i64::from(word(3)?))
        }
        // mov rdi, imm32 (sign-extended)
        [.., 0x48, 0xc7, 0xc7, _, _, _, _, 0xe8, _, _, _, _] => {
            u64::try_from(i64::from(word(3)?)).ok()?
        }
        _ => return None,
    };
    let memory = image.memory();
    let text = |i: u64| -> Option<String> {
        let p = memory.read_u64(address.checked_add(8 * i)?).ok()?;
        image
            .read_string(p, MAX_TEXT)
            .filter(|s| !s.is_empty() && !s.contains(char::REPLACEMENT_CHARACTER))
    };
    let location = text(0)?;
    // `file:line`, as node's CHECK macros write it.
    let (_, line) = location.rsplit_once(':')?;
    if line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Assertion {
        address,
        location,
        expression: text(1)?,
        function: text(2)?,
    })
}
