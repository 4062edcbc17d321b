//! Facts of node's `Environment` that no `nodedbg_*` constant exports, read from the machine
//! code that uses them: the instruction is the build's own statement of the offset, whatever
//! its release (the `Environment`'s layout changes between minor releases).
//!
//! `timer_base_` (the loop's time when the Environment started, which node subtracts from
//! `uv_now` to give JavaScript its timer clock: `Timeout._idleStart` counts from it) is read by
//! `Environment::GetNowUint64()` (`GetNow()` in Node 18) right after its call to `uv_now`:
//!
//! ```text
//! call uv_now
//! mov  rdx, [rbx + timer_base]      (Node 18 to 24)
//! sub  rax, [rbx + timer_base]      (Node 26)
//! ```

use coroner_image::ElfFile;

/// The functions that read `timer_base_`, by release.
const GET_NOW: [&str; 2] = [
    "_ZN4node11Environment12GetNowUint64Ev",
    "_ZN4node11Environment6GetNowEv",
];
/// Bytes of the function read: its calls come within its first few dozen.
const CODE_BYTES: usize = 128;
/// `call rel32`.
const CALL: u8 = 0xe8;

/// The offset of `Environment::timer_base_` in the build of the executable `file`, from its
/// code (the same at run time: text is never written); `None` when the code is not the shape
/// described above. `cargo xtask layouts` records it in the build's table for cores read
/// without the executable.
pub fn timer_base_offset(file: &ElfFile) -> Option<u64> {
    let symbols = file.symbols();
    let uv_now = symbols.by_name("uv_now")?.address;
    let start = GET_NOW.iter().find_map(|n| symbols.by_name(n))?.address;
    let code = file.read_static(start, CODE_BYTES)?;
    // The instruction after the call whose target is uv_now.
    let after = (0..code.len().saturating_sub(5)).find(|&i| {
        code[i] == CALL
            && code
                .get(i + 1..i + 5)
                .and_then(|b| b.try_into().ok())
                .map(i32::from_le_bytes)
                .is_some_and(|rel| {
                    let next = start.wrapping_add(i as u64 + 5);
                    next.wrapping_add_signed(i64::from(rel)) == uv_now
                })
    })? + 5;
    rbx_operand(code.get(after..)?)
}

/// The displacement of a `mov`/`sub`/`cmp` of a 64-bit register with `[rbx + disp]` at the start
/// of `code` (REX.W, opcode 8b/2b/3b, ModRM with base rbx and an 8- or 32-bit displacement).
fn rbx_operand(code: &[u8]) -> Option<u64> {
    let [rex, opcode, modrm, rest @ ..] = code else {
        return None;
    };
    if rex & 0xf8 != 0x48 || !matches!(opcode, 0x8b | 0x2b | 0x3b) || modrm & 0x07 != 0x03 {
        return None;
    }
    match modrm >> 6 {
        0b01 => rest.first().and_then(|&d| u64::try_from(d as i8).ok()),
        0b10 => rest
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_le_bytes)
            .and_then(|d| u64::try_from(d).ok()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::rbx_operand;

    #[test]
    fn reads_the_displacement_of_rbx_operands() {
        // mov rdx, [rbx + 0x5d8]
        assert_eq!(
            rbx_operand(&[0x48, 0x8b, 0x93, 0xd8, 0x05, 0, 0]),
            Some(0x5d8)
        );
        // sub rax, [rbx + 0x6e0]
        assert_eq!(
            rbx_operand(&[0x48, 0x2b, 0x83, 0xe0, 0x06, 0, 0]),
            Some(0x6e0)
        );
        // mov rax, [rbx + 0x60]
        assert_eq!(rbx_operand(&[0x48, 0x8b, 0x43, 0x60]), Some(0x60));
        // mov rax, [rdi + 0xd0]: not rbx
        assert_eq!(rbx_operand(&[0x48, 0x8b, 0x87, 0xd0, 0, 0, 0]), None);
        // a call
        assert_eq!(rbx_operand(&[0xe8, 0, 0, 0, 0]), None);
    }
}
