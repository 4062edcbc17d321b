//! A file changing under coroner. The core (and the executables and libraries whose pages fill
//! its gaps) are memory-mapped; a file cut short by another process while mapped (a cleanup job,
//! a copy still being written over it) makes the next read of a page past its new end raise
//! SIGBUS, which would kill coroner with no word. The bytes are gone, so nothing can go on: the
//! handler says so in one line and exits with the status of an unusable input.

/// What the handler writes (one line, on stderr).
const MESSAGE: &[u8] = b"\ncoroner: a file being read changed under coroner (the core, or an executable or library \
it mapped, was cut short by another process, or is still being written): open it again once it is complete\n";

/// Installs the SIGBUS handler for the whole process.
#[allow(unsafe_code)]
pub fn install() {
    extern "C" fn on_sigbus(_signal: libc::c_int) {
        // SAFETY: `write` and `_exit` are async-signal-safe; the buffer is a static.
        unsafe {
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(i32::from(crate::EXIT_UNUSABLE));
        }
    }
    // SAFETY: a zeroed `sigaction` is a valid "no flags, empty mask" value; the handler is an
    // `extern "C" fn(c_int)`, as `sa_sigaction` without SA_SIGINFO expects; nothing else in
    // coroner handles SIGBUS.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}
