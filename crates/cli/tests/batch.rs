//! Batch use: `-c`, `--script`, commands on standard input, JSON Lines, `--stop-on-error`,
//! `help`, and llnode's `v8` prefix.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use coroner_fixtures::{Fixture, Kind};
use support::{coroner, Run};

fn fixture() -> Fixture {
    coroner_fixtures::all()
        .into_iter()
        .find(|f| f.kind == Kind::Abort)
        .expect("an abort fixture")
}

fn with_stdin(f: &Fixture, extra: &[&str], input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .arg(&f.core)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn coroner");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn json_lines_one_document_per_command() {
    let f = fixture();
    let core = f.core.to_str().expect("utf-8");
    let run = coroner([core, "--json", "-c", "info", "-c", "v8 info"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs = run.json_lines();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0], docs[1], "`v8 info` is `info`");
    assert_eq!(docs[0]["pid"], f.expect.raw["pid"]);
}

#[test]
fn commands_from_standard_input_skip_comments_and_blank_lines() {
    let f = fixture();
    let run = with_stdin(&f, &["--json"], "# a comment\n\ninfo\n  info  \n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json_lines().len(), 2);
}

#[test]
fn a_script_runs_after_the_c_commands() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("queries.txt");
    std::fs::write(&script, "# queries\ninfo --json\n\nhelp info\n").expect("write script");
    let core = f.core.to_str().expect("utf-8");
    let run = coroner([
        core,
        "-c",
        "info",
        "--script",
        script.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = run.stdout.find("process:").expect("text info first");
    let json = run
        .stdout
        .find("{\"core\"")
        .expect("then the script's JSON info");
    let help = run
        .stdout
        .find("Example")
        .expect("then help with an example");
    assert!(text < json && json < help, "{}", run.stdout);
}

#[test]
fn a_missing_script_is_an_error() {
    let f = fixture();
    let core = f.core.to_str().expect("utf-8");
    let run = coroner([core, "--script", "/nonexistent/queries.txt"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("/nonexistent/queries.txt"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn failures_set_exit_1_and_stop_on_error_stops() {
    let f = fixture();
    let core = f.core.to_str().expect("utf-8");
    let run = coroner([core, "-c", "nonsense", "-c", "info"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("unknown command 'nonsense'"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("process:"), "later commands still run");

    let run = coroner([core, "--stop-on-error", "-c", "nonsense", "-c", "info"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.is_empty(),
        "nothing after the failure: {}",
        run.stdout
    );
}

#[test]
fn help_lists_commands_and_describes_one() {
    let f = fixture();
    let core = f.core.to_str().expect("utf-8");
    let run = coroner([core, "-c", "help"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("info"), "{}", run.stdout);
    let run = coroner([core, "-c", "help info"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("--json") && run.stdout.contains("Example"),
        "{}",
        run.stdout
    );
}

#[test]
fn help_from_the_shell_is_the_prompts_and_no_arguments_say_how_to_start() {
    let f = fixture();
    let core = f.core.to_str().expect("utf-8");
    for what in [&["help"][..], &["help", "retainers"][..]] {
        let at_prompt = coroner([core, "-c", &what.join(" ")]);
        let from_shell = coroner(what);
        assert_eq!(from_shell.code, 0, "{what:?}: {}", from_shell.stderr);
        assert!(
            from_shell.stdout.starts_with(&at_prompt.stdout),
            "{what:?}: {}\n---\n{}",
            from_shell.stdout,
            at_prompt.stdout
        );
    }
    let unknown = coroner(["help", "nosuchcommand"]);
    assert_eq!(unknown.code, 2);
    assert_eq!(unknown.stderr.lines().count(), 1, "{}", unknown.stderr);
    let bare = coroner(Vec::<&str>::new());
    assert_eq!(bare.code, 2);
    assert!(bare.stdout.is_empty());
    assert!(
        bare.stderr.starts_with("usage: coroner CORE") && bare.stderr.contains("coroner help"),
        "{}",
        bare.stderr
    );
}

#[test]
fn quit_ends_standard_input() {
    let f = fixture();
    let run = with_stdin(&f, &["--json"], "info\nquit\ninfo\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json_lines().len(), 1);
}
