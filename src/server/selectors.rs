//! Label and field selectors of list and watch requests (`labelSelector=job-name=pi`,
//! `fieldSelector=metadata.name=pi,involvedObject.kind=Job`).

use std::collections::BTreeMap;

use crate::api::validation::{is_label_value, is_qualified_name};

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; empty matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

/// A selector that does not parse; the message is the API server's 400 text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct ParseError(pub String);

/// Fields each resource can be selected by (the API server's field label conversions).
pub fn selectable_fields(
    resource: crate::store::Resource,
) -> (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
) {
    let info = resource.info();
    (info.field_labels, info.field_aliases)
}

/// Splits on commas that are not inside parentheses.
fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    let parts: Vec<String> = out.into_iter().map(|p| p.trim().to_string()).collect();
    // An empty selector selects everything; an empty term inside one is an error, kept
    // as an empty string for the parser to refuse.
    if parts.len() == 1 && parts[0].is_empty() {
        Vec::new()
    } else {
        parts
    }
}

impl LabelSelector {
    /// Parses the `labelSelector` query parameter.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use wasmjob::server::selectors::LabelSelector;
    /// let s = LabelSelector::parse("job-name=pi,tier in (a,b),!gone").unwrap();
    /// let labels = BTreeMap::from([("job-name".to_string(), "pi".to_string()), ("tier".into(), "a".into())]);
    /// assert!(s.matches(Some(&labels)));
    /// ```
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            if part.is_empty() {
                return Err(ParseError("found ',', expected: identifier".into()));
            }
            let req = if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().to_string())
            } else if let Some((key, notin, values)) = set_operator(&part) {
                if notin {
                    Requirement::NotIn(key.to_string(), set(values)?)
                } else {
                    Requirement::In(key.to_string(), set(values)?)
                }
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else {
                Requirement::Exists(part.trim().to_string())
            };
            let (key, values): (&String, Vec<&String>) = match &req {
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, vec![v]),
                Requirement::In(k, vs) | Requirement::NotIn(k, vs) => {
                    if vs.is_empty() {
                        return Err(ParseError(
                            "for 'in', 'notin' operators, values set can't be empty".into(),
                        ));
                    }
                    (k, vs.iter().collect())
                }
                Requirement::Exists(k) | Requirement::NotExists(k) => (k, vec![]),
            };
            if !is_qualified_name(key) {
                return Err(ParseError(format!(
                    "{key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
                )));
            }
            if let Some(v) = values.into_iter().find(|v| !is_label_value(v)) {
                return Err(ParseError(format!(
                    "{v:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
                )));
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k));
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v),
            Requirement::NotEquals(k, v) => get(k) != Some(v),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.contains(x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.contains(x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

/// `key in (…)` / `key notin (…)`: the key, whether it is `notin`, and the text from the
/// parenthesis on. As upstream's lexer reads it, the operator is a word of its own before
/// the key's end, and `(` needs no space before it (`tier in(a,b)`).
fn set_operator(part: &str) -> Option<(&str, bool, &str)> {
    let open = part.find('(')?;
    let head = part[..open].trim_end();
    [("notin", true), ("in", false)]
        .into_iter()
        .find_map(|(word, notin)| {
            let at = head.len().checked_sub(word.len())?;
            let (key, op) = (head.get(..at)?, head.get(at..)?);
            (op.eq_ignore_ascii_case(word) && key.ends_with(char::is_whitespace))
                .then(|| (key.trim(), notin, &part[open..]))
        })
}

fn set(s: &str) -> Result<Vec<String>, ParseError> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| ParseError(s.to_string()))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

/// A parsed field selector: `path=value` / `path!=value` terms over the object's JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Whether it selects everything (no terms).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses the `fieldSelector` query parameter (terms arrive in any order).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut terms = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (path, neg, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, false, v)
            } else {
                return Err(ParseError(part.to_string()));
            };
            terms.push((path.trim().to_string(), neg, value.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    /// Refuses terms on fields the resource cannot be selected by (`field label not
    /// supported: spec.foo`); `aliases` map a selectable label to the JSON path it reads.
    pub fn check(&mut self, allowed: &[&str], aliases: &[(&str, &str)]) -> Result<(), ParseError> {
        for (path, _, _) in &mut self.0 {
            if let Some((_, to)) = aliases.iter().find(|(from, _)| from == path) {
                *path = to.to_string();
            } else if !allowed.contains(&path.as_str()) {
                return Err(ParseError(format!("field label not supported: {path}")));
            }
        }
        Ok(())
    }

    /// The value a `metadata.name=` term requires, if any (lets lists skip a scan).
    pub fn name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(p, neg, _)| p == "metadata.name" && !neg)
            .map(|(_, _, v)| v.as_str())
    }

    /// Whether the object (as JSON) satisfies every term; a missing field reads as "".
    pub fn matches(&self, obj: &serde_json::Value) -> bool {
        self.0.iter().all(|(path, neg, want)| {
            let mut cur = obj;
            for seg in path.split('.') {
                cur = cur.get(seg).unwrap_or(&serde_json::Value::Null);
            }
            let have = match cur {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (have == *want) != *neg
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selectors_support_every_operator() {
        let l = labels(&[("job-name", "pi"), ("tier", "a")]);
        let ok = |s: &str| LabelSelector::parse(s).unwrap().matches(Some(&l));
        assert!(ok("job-name=pi"));
        assert!(ok("job-name==pi"));
        assert!(!ok("job-name!=pi"));
        assert!(ok("tier in (a, b)"));
        assert!(!ok("tier notin (a)"));
        assert!(ok("tier"));
        assert!(ok("!missing"));
        assert!(!ok("missing"));
        assert!(ok(""));
        assert!(ok("job-name=pi,tier in (a,b)"));
    }

    #[test]
    fn malformed_label_selectors_are_refused_not_matched() {
        for bad in ["!!!", "a=b=c", "a in ()", "job-name=aaa,,", "a b"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unsupported_field_labels_are_refused() {
        let (allowed, aliases) = selectable_fields(crate::store::Resource::Jobs);
        let mut f = FieldSelector::parse("spec.foo=1").unwrap();
        assert_eq!(
            f.check(allowed, aliases).unwrap_err().to_string(),
            "unable to parse requirement: field label not supported: spec.foo"
        );
        let mut f = FieldSelector::parse("status.successful=1").unwrap();
        f.check(allowed, aliases).unwrap();
        assert!(f.matches(&serde_json::json!({"status": {"succeeded": 1}})));
    }

    #[test]
    fn field_selectors_read_json_paths() {
        let obj =
            serde_json::json!({"metadata": {"name": "pi"}, "involvedObject": {"kind": "Job"}});
        let ok = |s: &str| FieldSelector::parse(s).unwrap().matches(&obj);
        assert!(ok("metadata.name=pi"));
        assert!(ok("involvedObject.kind=Job,metadata.name=pi"));
        assert!(!ok("metadata.name!=pi"));
        assert!(ok("involvedObject.uid="));
        assert_eq!(
            FieldSelector::parse("metadata.name=pi").unwrap().name(),
            Some("pi")
        );
        assert!(FieldSelector::parse("nonsense").is_err());
    }

    /// One requirement as text, and the answer kube-apiserver's selector gives for it.
    #[derive(Clone, Debug)]
    enum Req {
        Eq(String, String, &'static str),
        Ne(String, String),
        In(String, Vec<String>),
        NotIn(String, Vec<String>),
        Exists(String),
        NotExists(String),
    }

    impl Req {
        fn text(&self, pad: &str) -> String {
            match self {
                Req::Eq(k, v, op) => format!("{k}{pad}{op}{pad}{v}"),
                Req::Ne(k, v) => format!("{k}{pad}!={pad}{v}"),
                Req::In(k, vs) => format!("{k} in{pad}({})", vs.join(&format!(",{pad}"))),
                Req::NotIn(k, vs) => format!("{k} notin ({pad}{}{pad})", vs.join(",")),
                Req::Exists(k) => format!("{pad}{k}"),
                Req::NotExists(k) => format!("!{k}"),
            }
        }

        /// Upstream's semantics: `!=` and `notin` also match a missing label.
        fn holds(&self, l: &BTreeMap<String, String>) -> bool {
            match self {
                Req::Eq(k, v, _) => l.get(k) == Some(v),
                Req::Ne(k, v) => l.get(k) != Some(v),
                Req::In(k, vs) => l.get(k).is_some_and(|x| vs.contains(x)),
                Req::NotIn(k, vs) => l.get(k).is_none_or(|x| !vs.contains(x)),
                Req::Exists(k) => l.contains_key(k),
                Req::NotExists(k) => !l.contains_key(k),
            }
        }
    }

    fn req() -> impl proptest::strategy::Strategy<Value = Req> {
        use proptest::prelude::*;
        // Few keys and values, so that requirements and labels meet often.
        let key = prop::sample::select(vec![
            "app",
            "tier",
            "x.io/role",
            "job-name",
            "domain",
            "x.io/login",
            "in",
            "notin",
        ])
        .prop_map(String::from);
        let value = prop::sample::select(vec!["a", "b", "web", "v1.2", ""]).prop_map(String::from);
        let values = prop::collection::vec(
            value.clone().prop_filter("non-empty", |v| !v.is_empty()),
            1..3,
        );
        prop_oneof![
            (
                key.clone(),
                value.clone(),
                prop::sample::select(vec!["=", "=="])
            )
                .prop_map(|(k, v, o)| Req::Eq(k, v, o)),
            (key.clone(), value).prop_map(|(k, v)| Req::Ne(k, v)),
            (key.clone(), values.clone()).prop_map(|(k, v)| Req::In(k, v)),
            (key.clone(), values).prop_map(|(k, v)| Req::NotIn(k, v)),
            key.clone().prop_map(Req::Exists),
            key.prop_map(Req::NotExists),
        ]
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Any selector made of valid requirements parses, with or without spaces, and
        /// matches exactly the label sets every requirement holds for.
        #[test]
        fn a_selector_matches_what_each_of_its_requirements_holds_for(
            reqs in proptest::collection::vec(req(), 0..4),
            labels in proptest::collection::btree_map(
                proptest::sample::select(vec!["app", "tier", "x.io/role", "job-name", "domain", "in", "other"]).prop_map(String::from),
                proptest::sample::select(vec!["a", "b", "web", "v1.2", ""]).prop_map(String::from),
                0..4,
            ),
            pad in proptest::sample::select(vec!["", " "]),
        ) {
            use proptest::prelude::*;
            let text: Vec<String> = reqs.iter().map(|r| r.text(pad)).collect();
            let selector = LabelSelector::parse(&text.join(",")).expect("valid");
            let want = reqs.iter().all(|r| r.holds(&labels));
            prop_assert_eq!(selector.matches(Some(&labels)), want, "{:?} on {:?}", text, labels);
            // No labels at all is the same as an empty set.
            prop_assert_eq!(selector.matches(None), selector.matches(Some(&BTreeMap::new())));
        }

        /// Whatever the text, parsing answers (a selector or an error) and never panics.
        #[test]
        fn any_text_parses_or_is_refused(s in ".{0,40}") {
            let _ = LabelSelector::parse(&s);
            let _ = FieldSelector::parse(&s);
        }
    }
}
