//! Splitting a command line into words, with single and double quotes and backslash escapes,
//! so `findrefs -s "two words"` reaches the command as three words.

/// Splits `line` into words. An unterminated quote is an error, since guessing where the user
/// meant it to end could run a different command than the one they typed.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => match chars.next() {
                Some(n) => word.push(n),
                None => return Err("the line ends with a lone backslash".into()),
            },
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
        if quote.is_some() {
            in_word = true;
        }
    }
    if let Some(q) = quote {
        return Err(format!("unterminated {q} quote"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Joins words back into a line that [`split`] turns into the same words.
pub fn join(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| {
            if !w.is_empty() && !w.chars().any(|c| c.is_whitespace() || "\"'\\".contains(c)) {
                w.clone()
            } else {
                let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
                format!("\"{escaped}\"")
            }
        })
        .collect();
    quoted.join(" ")
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn plain_and_quoted_words() {
        assert_eq!(split("  info   --json ").unwrap(), ["info", "--json"]);
        assert_eq!(
            split(r#"findrefs -s "two words" 'x y'"#).unwrap(),
            ["findrefs", "-s", "two words", "x y"]
        );
        assert_eq!(split(r#"a\ b "q\"d" ''"#).unwrap(), ["a b", "q\"d", ""]);
        assert!(split("\"open").is_err());
        assert!(split("x\\").is_err());
        assert!(split("").unwrap().is_empty());
    }

    #[test]
    fn join_round_trips() {
        for line in [
            r#"findjsinstances "Object {a, b}" -n 5"#,
            r#"x "q\"d" 'a\b' """#,
        ] {
            let words = split(line).unwrap();
            assert_eq!(split(&super::join(&words)).unwrap(), words);
        }
    }
}
