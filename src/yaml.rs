//! YAML decoding with a bound on nesting, checked before the parser runs: libyaml's
//! scanner does work proportional to the open flow collections for every token, so a body
//! of deeply nested `[[[[…` takes time quadratic in its size (128k levels in 250 KB: 32 s).
//! The check is one linear pass; nothing Kubernetes accepts nests anywhere near the bound.

use serde::de::DeserializeOwned;

/// Deepest nesting accepted: flow collections (`[`, `{`) and block indentation levels
/// together. Kubernetes objects nest a few dozen levels at most.
pub const MAX_DEPTH: usize = 100;

/// Refuses `text` when its collections nest deeper than [`MAX_DEPTH`]. Quoted scalars and
/// comments are skipped; block nesting is counted by the distinct indentations open.
pub fn check_depth(text: &[u8]) -> Result<(), String> {
    let mut flow = 0usize;
    // Columns of the block collections open at this point.
    let mut indents: Vec<usize> = Vec::new();
    // Only indentation and `- ` seen so far on this line.
    let mut prefix = true;
    let mut col = 0usize;
    let mut i = 0;
    let deeper = |flow: usize, indents: &Vec<usize>| flow + indents.len() > MAX_DEPTH;
    while i < text.len() {
        let b = text[i];
        if prefix && flow == 0 && b != b' ' && b != b'\n' && b != b'#' {
            // The first content of a block line closes deeper collections and opens one
            // at its column; each `- ` on the line opens a sequence item below.
            if !(b == b'-' && col > 0 && text[i - 1] == b' ' && indents.last() == Some(&col)) {
                while indents.last().is_some_and(|&top| top > col) {
                    indents.pop();
                }
                if indents.last() != Some(&col) {
                    indents.push(col);
                }
            }
            if deeper(flow, &indents) {
                return Err(too_deep());
            }
        }
        match b {
            b'\n' => {
                prefix = true;
                col = 0;
                i += 1;
                continue;
            }
            b' ' => {}
            b'-' if prefix && text.get(i + 1).is_none_or(|c| *c == b' ' || *c == b'\n') => {
                // Stays in the prefix: what follows the dash is nested one level deeper.
                col += 2;
                i += 2;
                continue;
            }
            b'#' if i == 0 || matches!(text[i - 1], b' ' | b'\t' | b'\n') => {
                while i < text.len() && text[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                prefix = false;
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' => {
                prefix = false;
                i += 1;
                while i < text.len() && text[i] != b'\'' {
                    i += 1;
                }
            }
            b'[' | b'{' => {
                prefix = false;
                flow += 1;
                if deeper(flow, &indents) {
                    return Err(too_deep());
                }
            }
            b']' | b'}' => {
                prefix = false;
                flow = flow.saturating_sub(1);
            }
            _ => prefix = false,
        }
        col += 1;
        i += 1;
    }
    Ok(())
}

fn too_deep() -> String {
    format!("yaml: nesting deeper than {MAX_DEPTH} levels")
}

/// [`check_depth`], then serde_yaml_ng.
pub fn from_slice<T: DeserializeOwned>(text: &[u8]) -> Result<T, String> {
    check_depth(text)?;
    serde_yaml_ng::from_slice(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing_and_quickly() {
        let deep = format!("{}{}", "[".repeat(128 * 1024), "]".repeat(128 * 1024));
        let started = std::time::Instant::now();
        let err = from_slice::<serde_yaml_ng::Value>(deep.as_bytes()).unwrap_err();
        assert!(err.contains("nesting deeper than 100"), "{err}");
        // The parser would take tens of seconds; the check is one pass.
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let objects = format!("{}{}", "{a: ".repeat(101), "}".repeat(101));
        assert!(check_depth(objects.as_bytes()).is_err());
    }

    #[test]
    fn deep_block_nesting_is_refused() {
        let mut text = String::new();
        for level in 0..150 {
            text.push_str(&" ".repeat(level * 2));
            text.push_str("k:\n");
        }
        assert!(check_depth(text.as_bytes()).is_err());
        let dashes = format!("{}x\n", "- ".repeat(150));
        assert!(check_depth(dashes.as_bytes()).is_err());
    }

    #[test]
    fn ordinary_manifests_pass_and_brackets_in_strings_do_not_count() {
        let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi, labels: {a: b}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: pi\n        image: pi.wasm\n        args: [\"[[[[[[\", '{{{{', \"\\\"[\"]  # [[[[ in a comment\n      restartPolicy: Never\n";
        check_depth(job.as_bytes()).unwrap();
        let v: serde_yaml_ng::Value = from_slice(job.as_bytes()).unwrap();
        assert_eq!(v["kind"], "Job");
        let many = "[".repeat(MAX_DEPTH - 1) + &"]".repeat(MAX_DEPTH - 1);
        check_depth(many.as_bytes()).unwrap();
    }
}
