//! The interval strings of `status.completedIndexes` / `failedIndexes` (`"1,3-5,7"`).

use std::collections::BTreeSet;

/// Formats indexes as upstream's `orderedIntervals.String`: runs of three or more become
/// `a-b`, runs of two stay `a,b`.
///
/// ```
/// use std::collections::BTreeSet;
/// let s: BTreeSet<i32> = [1, 3, 4, 5, 7, 8].into_iter().collect();
/// assert_eq!(wasmjob::api::intervals::format(&s), "1,3-5,7,8");
/// ```
pub fn format(indexes: &BTreeSet<i32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut iter = indexes.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        match end - start {
            0 => out.push(start.to_string()),
            1 => {
                out.push(start.to_string());
                out.push(end.to_string());
            }
            _ => out.push(format!("{start}-{end}")),
        }
    }
    out.join(",")
}

/// Parses an interval string leniently, as the controller does with its own status: bad
/// parts are skipped and indexes at or above `completions` dropped.
pub fn parse(s: &str, completions: i32) -> BTreeSet<i32> {
    let mut set = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        if let (Ok(a), Ok(b)) = (a, b) {
            set.extend((a.max(0)..=b.min(completions - 1)).filter(|i| *i >= 0));
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[i32]) -> BTreeSet<i32> {
        v.iter().copied().collect()
    }

    #[test]
    fn formats_like_upstream() {
        assert_eq!(format(&set(&[])), "");
        assert_eq!(format(&set(&[0, 1])), "0,1");
        assert_eq!(format(&set(&[0, 1, 2])), "0-2");
        assert_eq!(format(&set(&[2, 4, 5, 7, 8, 9])), "2,4,5,7-9");
    }

    #[test]
    fn parse_round_trips_and_clamps() {
        assert_eq!(parse("2,4,5,7-9", 10), set(&[2, 4, 5, 7, 8, 9]));
        assert_eq!(parse("0-1", 10), set(&[0, 1]));
        assert_eq!(parse("3-9", 5), set(&[3, 4]));
        assert_eq!(parse("x,2", 5), set(&[2]));
    }
}
