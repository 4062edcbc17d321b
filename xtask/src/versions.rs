//! The pinned Node versions: `fixtures/versions.txt`, the one place they are listed.
//!
//! One version per line; `#` starts a comment; exactly one line carries the word `default`
//! after its version. A version marked `untabled` gets fixtures but no layout table
//! (`cargo xtask layouts` skips it): its cores test how coroner reads a release it has no table
//! for.

use std::path::Path;

use crate::error::{Context, Error, Result};

/// The pinned versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// All pinned versions, in file order.
    pub all: Vec<String>,
    /// The version marked `default`.
    pub default: String,
    /// The versions marked `untabled`.
    pub untabled: Vec<String>,
}

impl Versions {
    /// Reads `versions.txt`.
    pub fn load(path: &Path) -> Result<Versions> {
        let text =
            std::fs::read_to_string(path).context(|| format!("cannot read {}", path.display()))?;
        Versions::parse(&text).map_err(|e| Error::new(format!("{}: {e}", path.display())))
    }

    /// Parses the contents of `versions.txt`.
    pub fn parse(text: &str) -> Result<Versions> {
        let mut all = Vec::new();
        let mut default = None;
        let mut untabled = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let version = words.next().unwrap_or("");
            let valid = version.split('.').count() == 3
                && version
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !valid {
                return Err(Error::new(format!(
                    "line {}: {version:?} is not a version like 20.20.2",
                    number + 1
                )));
            }
            match words.next() {
                None => {}
                Some("untabled") => untabled.push(version.to_string()),
                Some("default") if default.is_none() => default = Some(version.to_string()),
                Some("default") => {
                    return Err(Error::new(format!(
                        "line {}: a second default version",
                        number + 1
                    )))
                }
                Some(word) => {
                    return Err(Error::new(format!(
                        "line {}: unexpected {word:?} (only `default` or `untabled` may follow the version)",
                        number + 1
                    )))
                }
            }
            if all.iter().any(|v| v == version) {
                return Err(Error::new(format!(
                    "line {}: {version} is listed twice",
                    number + 1
                )));
            }
            all.push(version.to_string());
        }
        let default = default.ok_or_else(|| Error::new("no version is marked `default`"))?;
        if untabled.contains(&default) {
            return Err(Error::new(format!(
                "{default} cannot be both default and untabled"
            )));
        }
        Ok(Versions {
            all,
            default,
            untabled,
        })
    }

    /// Whether `version` is pinned.
    pub fn contains(&self, version: &str) -> bool {
        self.all.iter().any(|v| v == version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comments_and_default() {
        let v = Versions::parse(
            "# c\n18.20.8\n20.20.2 default # the one\n\n22.23.3\n22.12.0 untabled\n",
        )
        .expect("parses");
        assert_eq!(v.all, ["18.20.8", "20.20.2", "22.23.3", "22.12.0"]);
        assert_eq!(v.default, "20.20.2");
        assert_eq!(v.untabled, ["22.12.0"]);
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(Versions::parse("20.20\n").is_err());
        assert!(Versions::parse("20.20.2\n").is_err(), "no default");
        assert!(Versions::parse("20.20.2 default\n20.20.2\n").is_err());
        assert!(Versions::parse("20.20.2 latest\n").is_err());
        assert!(Versions::parse("20.20.2 default\n20.20.2 untabled\n").is_err());
    }

    #[test]
    fn the_pinned_file_parses() {
        let layout = crate::layout::Layout::new();
        let v = Versions::load(&layout.versions_file()).expect("fixtures/versions.txt parses");
        assert!(v.contains(&v.default));
    }
}
