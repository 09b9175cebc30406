//! Label and field selectors of list and watch requests (`labelSelector=job-name=pi`,
//! `fieldSelector=metadata.name=pi,involvedObject.kind=Job`).

use std::collections::BTreeMap;

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
    out.into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
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
            let lower = part.to_ascii_lowercase();
            let req = if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().to_string())
            } else if let Some(pos) = lower.find(" notin ") {
                Requirement::NotIn(part[..pos].trim().to_string(), set(&part[pos + 7..])?)
            } else if let Some(pos) = lower.find(" in ") {
                Requirement::In(part[..pos].trim().to_string(), set(&part[pos + 4..])?)
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else {
                Requirement::Exists(part.trim().to_string())
            };
            let key = match &req {
                Requirement::Equals(k, _)
                | Requirement::NotEquals(k, _)
                | Requirement::In(k, _)
                | Requirement::NotIn(k, _)
                | Requirement::Exists(k)
                | Requirement::NotExists(k) => k,
            };
            if key.is_empty() || key.contains(' ') {
                return Err(ParseError(part.clone()));
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
}
