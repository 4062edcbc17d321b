//! `leaks --html`: the page opens in a real browser (Debian's chromium, headless; `.ci/run`
//! installs it, `CORONER_CHROMIUM` names another) without a script error, draws the treemap,
//! and carries the same suspects and growth as `leaks --json` and `diff --json`.

mod support;

use std::path::PathBuf;
use std::process::Command;

use coroner_fixtures::{Fixture, Kind};
use serde_json::Value;
use support::on_core;

fn chromium() -> PathBuf {
    std::env::var_os("CORONER_CHROMIUM").map_or_else(|| PathBuf::from("chromium"), PathBuf::from)
}

/// The page's DOM after its scripts ran, as chromium prints it.
fn rendered(page: &std::path::Path) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,1000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (install Debian's chromium, as .ci/run does): {e}",
                chromium().display()
            )
        });
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `<body ...>` tag's attribute `name`.
fn body_attribute(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// The data the page was written with.
fn page_data(page: &std::path::Path) -> Value {
    let html = std::fs::read_to_string(page).expect("page");
    let start = html
        .find(r#"<script type="application/json" id="data">"#)
        .expect("data element");
    let body = &html[start..];
    let json = &body[body.find('>').expect("tag") + 1..body.find("</script>").expect("end")];
    serde_json::from_str(json).expect("the page's data is JSON")
}

#[test]
fn the_page_loads_in_a_browser_and_draws_the_treemap() {
    let fixtures: Vec<Fixture> = coroner_fixtures::find("growth", Kind::Gcore);
    assert!(
        !fixtures.is_empty(),
        "no growth fixtures (cargo xtask fixtures)"
    );
    let dir = std::env::temp_dir().join(format!("coroner-page-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for f in fixtures {
        let label = f.label();
        let page = dir.join(format!("{}.html", f.version));
        let earlier = f.earlier_core().expect("earlier core");
        let line = format!(
            "leaks --html {} --since {}",
            page.display(),
            earlier.display()
        );
        let run = on_core(
            &f.core,
            &f.exe,
            &[&line, "leaks", &format!("diff {}", earlier.display())],
            true,
        );
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let docs = run.json_lines();
        assert!(
            docs[0]["html"]["bytes"].as_u64().unwrap_or(0) > 0,
            "{label}: {}",
            docs[0]
        );
        assert_eq!(
            docs[0]["html"]["file"],
            page.display().to_string(),
            "{label}"
        );

        let dom = rendered(&page);
        assert_eq!(
            body_attribute(&dom, "data-errors"),
            None,
            "{label}: script errors"
        );
        assert_eq!(
            body_attribute(&dom, "data-status").as_deref(),
            Some("drawn"),
            "{label}"
        );
        let cells: usize = body_attribute(&dom, "data-cells")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        assert!(cells > 20, "{label}: {cells} treemap boxes drawn");
        // The suspects' table and the growth are drawn from the same data as the commands'.
        assert!(
            dom.contains("global.entryCache -&gt; Map"),
            "{label}: the first suspect's path"
        );

        let data = page_data(&page);
        assert_eq!(data["suspects"], docs[1]["suspects"], "{label}");
        assert_eq!(data["growth"]["paths"], docs[2]["paths"], "{label}");
        assert_eq!(data["reachable"], docs[1]["reachable"], "{label}");
        // The treemap's boxes nest: each names a dominator listed before it, and keeps no more
        // than it.
        let tree = data["tree"].as_array().expect("tree");
        for (i, node) in tree.iter().enumerate() {
            if let Some(p) = node["p"].as_u64() {
                let parent = &tree[p as usize];
                assert!((p as usize) < i, "{label}: node {i}");
                assert!(
                    parent["r"].as_u64() >= node["r"].as_u64(),
                    "{label}: node {i}"
                );
            }
        }
        let map = tree
            .iter()
            .find(|n| n["a"] == data["suspects"][0]["address"])
            .unwrap_or_else(|| panic!("{label}: the first suspect in the treemap"));
        assert_eq!(map["r"], data["suspects"][0]["retained"], "{label}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
