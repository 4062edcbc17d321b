//! The prompt in a real pseudo-terminal, as a person uses it: Ctrl-C during a long listing, at
//! the prompt, and Ctrl-D to leave. coroner runs on a pty (rexpect's `PtyProcess`: its own
//! session, the pty its controlling terminal), so the line discipline turns Ctrl-C into SIGINT
//! exactly as for a user; and the test reads the terminal only as fast as it chooses, like a
//! person's terminal that scrolls, so a listing is still being written when Ctrl-C comes.

use std::fs::File;
use std::io::{Read, Write};
use std::process::Command;
use std::sync::mpsc::{sync_channel, Receiver};
use std::time::{Duration, Instant};

use coroner_fixtures::Kind;
use rexpect::process::PtyProcess;

mod support;

const PROMPT: &str = "(coroner) ";
/// How long any one expected text may take to appear.
const PATIENCE: Duration = Duration::from_secs(60);

/// A terminal with coroner in it.
struct Terminal {
    process: PtyProcess,
    keyboard: File,
    /// The screen, a chunk at a time. The channel holds no chunk: the thread reading the pty
    /// waits until the test takes one, so while the test does not read, the pty fills and
    /// coroner's writes block, as with a terminal that has not caught up.
    screen: Receiver<Vec<u8>>,
    /// Read from the screen and not yet matched.
    unmatched: Vec<u8>,
    /// Bytes read from the screen in all.
    read: usize,
}

impl Terminal {
    /// coroner at its prompt on an abort fixture, in a terminal it believes is an xterm, with
    /// its history kept in `data`. The pty's size is not set: 0 rows, which coroner takes as
    /// a terminal too tall to page.
    fn on_a_core(data: &std::path::Path) -> Terminal {
        Terminal::start(data, None)
    }

    /// The same in a terminal `rows` high (80 columns), set with stty as a terminal would.
    fn with_rows(data: &std::path::Path, rows: u16) -> Terminal {
        Terminal::start(data, Some(rows))
    }

    fn start(data: &std::path::Path, rows: Option<u16>) -> Terminal {
        let f = coroner_fixtures::all()
            .into_iter()
            .find(|f| f.kind == Kind::Abort)
            .expect("an abort fixture");
        Terminal::on(&f, data, rows, &[])
    }

    /// coroner on `f`'s core, in a terminal `rows` high if given, with `env` set.
    fn on(
        f: &coroner_fixtures::Fixture,
        data: &std::path::Path,
        rows: Option<u16>,
        env: &[(&str, &str)],
    ) -> Terminal {
        let mut command = match rows {
            None => Command::new(env!("CARGO_BIN_EXE_coroner")),
            Some(rows) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!(r#"stty rows {rows} cols 80 && exec "$0" "$@""#))
                    .arg(env!("CARGO_BIN_EXE_coroner"));
                c
            }
        };
        command
            .arg(&f.core)
            .arg("--exe")
            .arg(&f.exe)
            .env("TERM", "xterm")
            .env("XDG_DATA_HOME", data)
            .env("NO_COLOR", "1")
            .env_remove("PAGER")
            .envs(env.iter().copied());
        let mut process = PtyProcess::new(command).expect("coroner on a pty");
        process.set_kill_timeout(Some(5_000));
        let mut output = process.get_file_handle().expect("the pty");
        let keyboard = process.get_file_handle().expect("the pty");
        let (chunks, screen) = sync_channel(0);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends at EOF, or EIO once coroner has exited and the pty is closed.
            while let Ok(n @ 1..) = output.read(&mut buf) {
                if chunks.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut t = Terminal {
            process,
            keyboard,
            screen,
            unmatched: Vec::new(),
            read: 0,
        };
        t.expect(PROMPT);
        t
    }

    /// Reads the screen until `needle`; returns what came before it.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self
                .unmatched
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
            {
                let before = String::from_utf8_lossy(&self.unmatched[..at]).into_owned();
                self.unmatched.drain(..at + needle.len());
                return before;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.screen.recv_timeout(left) {
                Ok(chunk) => {
                    self.read += chunk.len();
                    self.unmatched.extend(chunk);
                }
                Err(e) => {
                    let tail = self.unmatched.len().saturating_sub(2000);
                    panic!(
                        "waiting for {needle:?}: {e}; the screen ends with {:?}",
                        String::from_utf8_lossy(&self.unmatched[tail..])
                    )
                }
            }
        }
    }

    /// Types `text` (a line needs its `\r`, as Enter sends).
    fn type_in(&mut self, text: &str) {
        self.keyboard
            .write_all(text.as_bytes())
            .expect("type into the pty");
    }

    /// Runs `line` at the prompt and returns its output.
    fn run(&mut self, line: &str) -> String {
        self.type_in(&format!("{line}\r"));
        self.expect(PROMPT)
    }

    /// Waits for coroner to exit; returns its status.
    fn exit_status(&mut self) -> String {
        while self.screen.recv_timeout(PATIENCE).is_ok() {}
        format!("{:?}", self.process.wait().expect("exit status"))
    }
}

#[test]
fn ctrl_c_stops_a_long_listing_and_the_prompt_goes_on() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut t = Terminal::on_a_core(data.path());
    // Node's `process` object: of the objects named `process`, the one with most to show.
    let listed = t.run("findjsinstances process");
    let mut longest = (0, String::new());
    for (at, _) in listed.match_indices("0x") {
        let process: String = listed[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let len = t.run(&format!("inspect --depth 8 {process}")).len();
        if len > longest.0 {
            longest = (len, process);
        }
    }
    // About 3 MB of text (10 000 objects expanded).
    let (whole, process) = longest;
    assert!(whole > 2_000_000, "the whole listing is {whole} bytes");

    t.type_in(&format!("inspect --depth 8 {process}\r"));
    t.expect("versions:");
    // The terminal has stopped reading: coroner fills the pty and waits on it.
    std::thread::sleep(Duration::from_millis(300));
    let before = t.read;
    let pressed = Instant::now();
    t.type_in("\x03");
    t.expect("coroner: inspect: interrupted");
    let took = pressed.elapsed();
    let after = t.read - before;
    t.expect(PROMPT);
    // What was on its way when Ctrl-C came (the pty's buffer, the last line), not the rest.
    assert!(
        after < whole / 10,
        "{after} of {whole} bytes came after Ctrl-C"
    );
    assert!(took < Duration::from_secs(5), "stopped after {took:?}");
    eprintln!("Ctrl-C: stopped after {took:?}, {after} of {whole} bytes came after it");
    // The prompt works and the next command runs whole.
    let info = t.run("info");
    assert!(info.contains("pid "), "{info}");
    let again = t.run(&format!("inspect --depth 8 {process}")).len();
    assert!(again.abs_diff(whole) < 1000, "{again} bytes, then {whole}");
}

#[test]
fn ctrl_c_at_the_prompt_clears_the_line_ctrl_l_the_screen_and_ctrl_d_leaves() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut t = Terminal::on_a_core(data.path());
    t.type_in("findjsob");
    t.type_in("\x03");
    t.expect(PROMPT);
    // The half-typed line is gone: what runs is `info`, not `findjsobinfo`.
    let info = t.run("info");
    assert!(info.contains("pid "), "{info}");
    assert!(!info.contains("unknown command"), "{info}");
    // Ctrl-L clears the screen (the terminal's clear sequence) and redraws the prompt.
    t.type_in("\x0c");
    t.expect("\x1b[H\x1b[J");
    t.expect(PROMPT);
    t.type_in("\x04");
    let status = t.exit_status();
    assert!(
        status.starts_with("Exited(") && status.ends_with(", 0)"),
        "{status}"
    );
    // The history was written where XDG_DATA_HOME says.
    let history =
        std::fs::read_to_string(data.path().join("coroner").join("history")).expect("history file");
    assert!(history.contains("info"), "{history}");
}

#[test]
fn enter_repeats_x_at_the_next_words_and_a_second_tab_lists_the_candidates() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut t = Terminal::on_a_core(data.path());
    let listed = t.run("findjsinstances process");
    let at = listed.find("0x").expect("an address");
    let hex: String = listed[at + 2..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    let addr = u64::from_str_radix(&hex, 16).expect("hex");
    let first = t.run(&format!("x -n 2 {addr:#x}"));
    assert!(first.contains(&format!("{addr:#x}:")), "{first}");
    // Enter on the empty line: the next two words, as gdb's x goes on.
    let next = t.run("");
    assert!(next.contains(&format!("{:#x}:", addr + 16)), "{next}");
    assert!(next.contains(&format!("{:#x}:", addr + 24)), "{next}");
    assert!(!next.contains(&format!("{addr:#x}:")), "{next}");
    // Tab, then Tab again: every command starting so.
    t.type_in("findjs\t\t");
    t.expect("findjsinstances");
    t.expect("findjsobjects");
    t.type_in("\x03");
    t.expect(PROMPT);
}

const MORE: &str = "--Type <RET> for more, q to quit, c to continue without paging--";
/// The last line of `findjsobjects`.
const CENSUS_END: &str = "V8 internals not listed";

#[test]
fn long_output_pauses_after_a_screenful_as_gdb_does() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut t = Terminal::with_rows(data.path(), 12);
    // findjsobjects lists about 60 rows: a screenful, Enter, a second, then q.
    t.type_in("findjsobjects\r");
    let first = t.expect(MORE);
    let lines = first.matches('\n').count();
    // The echoed command line's, then 11 rows of output (a row is the prompt's).
    assert_eq!(lines, 12, "{first:?}");
    // Enter: the next 11 rows (the terminal does not echo it: rexpect's pty has echo off).
    t.type_in("\r");
    let second = t.expect(MORE);
    assert_eq!(second.matches('\n').count(), 11, "{second:?}");
    t.type_in("q\r");
    let rest = t.expect(PROMPT);
    assert!(!rest.contains(CENSUS_END), "q stops the listing: {rest:?}");
    // c: the rest without pausing.
    t.type_in("findjsobjects\r");
    t.expect(MORE);
    t.type_in("c\r");
    let rest = t.expect(PROMPT);
    assert!(
        rest.contains(CENSUS_END) && !rest.contains(MORE),
        "{rest:?}"
    );
    // JSON is never paused; nor is anything after `set pagination off`.
    let json = t.run("findjsobjects --json");
    assert!(!json.contains(MORE), "{json:?}");
    assert!(t.run("set pagination off").contains("pagination: off"));
    let all = t.run("findjsobjects");
    assert!(all.contains(CENSUS_END) && !all.contains(MORE), "{all:?}");
}

#[test]
fn ctrl_c_stops_an_analysis_and_the_next_command_builds_it_whole() {
    // The largest core of the fixtures: its census (object index, references, roots, dominator
    // tree) takes seconds in a test build.
    let f = coroner_fixtures::all()
        .into_iter()
        .filter(|f| f.kind == Kind::Gcore)
        .max_by_key(|f| std::fs::metadata(&f.core).map(|m| m.len()).unwrap_or(0))
        .expect("a gcore fixture");
    let data = tempfile::tempdir().expect("tempdir");
    let mut t = Terminal::on(&f, data.path(), None, &[]);
    t.type_in("findjsobjects -n 3\r");
    // Once the census is past the heap's page walk (which the V8 layer does in one go): among
    // the analyses, each of which listens for Ctrl-C.
    t.expect("finding GC roots");
    let pressed = Instant::now();
    t.type_in("\x03");
    let before = t.expect("coroner: findjsobjects: interrupted");
    let took = pressed.elapsed();
    t.expect(PROMPT);
    assert!(
        !before.contains("Instances"),
        "the census was printed: {before:?}"
    );
    assert!(took < Duration::from_secs(1), "stopped after {took:?}");
    eprintln!("Ctrl-C stopped the census after {took:?}");
    // Nothing half-built was kept: the census now is the one a fresh coroner prints.
    let census = t.run("findjsobjects -n 3 --json");
    let fresh = support::on_core(&f.core, &f.exe, &["findjsobjects -n 3"], true);
    // (The JSON follows the spinner's erasure on the terminal.)
    let at = census
        .find("[{")
        .unwrap_or_else(|| panic!("no JSON: {census:?}"));
    let line = census[at..].lines().next().unwrap_or_default();
    assert_eq!(line.trim_end(), fresh.stdout.trim_end());
}

#[test]
fn pager_from_the_environment_takes_the_text() {
    let f = coroner_fixtures::all()
        .into_iter()
        .find(|f| f.kind == Kind::Abort)
        .expect("an abort fixture");
    let data = tempfile::tempdir().expect("tempdir");
    let pager = [("PAGER", "sed 's/^/PAGED: /'")];
    let mut t = Terminal::on(&f, data.path(), Some(12), &pager);
    let text = t.run("findjsobjects -n 2");
    assert!(text.contains("PAGED:   Instances"), "{text:?}");
    assert!(text.contains("PAGED: (more:"), "{text:?}");
    assert!(!text.contains(MORE), "{text:?}");
    let json = t.run("findjsobjects -n 2 --json");
    assert!(!json.contains("PAGED:"), "JSON is never paged: {json:?}");
    t.run("set pagination off");
    let plain = t.run("findjsobjects -n 2");
    assert!(
        plain.contains("Instances") && !plain.contains("PAGED:"),
        "{plain:?}"
    );
}
