//! IAM-style wildcards: `*` matches any run of characters (`/` included), `?` exactly
//! one; everything else is literal. These are the semantics of a bucket policy's
//! `Action` and `Resource`, and the compliance rules use the same for bucket names, so
//! one pattern language covers both files an auditor writes.

/// Does `text` match `pattern`? Linear-time two-pointer match with one backtrack
/// point, so no pattern can make it slow.
pub fn matches(pattern: &str, text: &str) -> bool {
    matches_by(pattern, text, |a, b| a == b)
}

/// Like [`matches`], ignoring ASCII case (IAM action names are case-insensitive).
pub fn matches_ignore_case(pattern: &str, text: &str) -> bool {
    matches_by(pattern, text, |a, b| a.eq_ignore_ascii_case(&b))
}

fn matches_by(pattern: &str, text: &str, eq: impl Fn(char, char) -> bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Does `pattern` match every text that starts with `prefix`? Conservative: `true`
/// only when, after matching `prefix`, the rest of the pattern is all `*` (patterns
/// such as `?*` that also cover everything are reported as not covering).
pub fn covers_prefix(pattern: &str, prefix: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    // Positions in the pattern reachable after consuming the prefix (an NFA walk).
    let mut states = vec![false; p.len() + 1];
    states[0] = true;
    close_stars(&p, &mut states);
    for c in prefix.chars() {
        let mut next = vec![false; p.len() + 1];
        for (i, &on) in states.iter().enumerate() {
            if !on || i == p.len() {
                continue;
            }
            match p[i] {
                '*' => next[i] = true,
                '?' => next[i + 1] = true,
                lit if lit == c => next[i + 1] = true,
                _ => {}
            }
        }
        close_stars(&p, &mut next);
        states = next;
    }
    states
        .iter()
        .enumerate()
        .any(|(i, &on)| on && i < p.len() && p[i..].iter().all(|&c| c == '*'))
}

/// A `*` may match nothing: whoever stands on one may also stand after it.
fn close_stars(p: &[char], states: &mut [bool]) {
    for i in 0..p.len() {
        if states[i] && p[i] == '*' {
            states[i + 1] = true;
        }
    }
}

/// Does the pattern contain a wildcard?
pub fn is_pattern(text: &str) -> bool {
    text.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("shared-*", "shared-data-prod"));
        assert!(matches("shared-*", "shared-"));
        assert!(!matches("shared-*", "shared"));
        assert!(matches("*-prod", "shared-data-prod"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*", ""));
        assert!(matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y/z"));
        assert!(!matches("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
        assert!(matches("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!matches("*a*b*c*", "xxaxxcxxbxx"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "Exact"));
        assert!(matches_ignore_case("s3:Get*", "S3:GETOBJECT"));
        assert!(!matches_ignore_case("s3:Get*", "s3:PutObject"));
    }

    #[test]
    fn many_stars_do_not_backtrack_exponentially() {
        let text = "a".repeat(10_000);
        let pattern = format!("{}b", "*a".repeat(500));
        assert!(!matches(&pattern, &text));
    }

    #[test]
    fn prefix_coverage() {
        assert!(covers_prefix("arn:aws:s3:::b/*", "arn:aws:s3:::b/"));
        assert!(covers_prefix("arn:aws:s3:::*", "arn:aws:s3:::b/"));
        assert!(covers_prefix("*", "arn:aws:s3:::b/"));
        assert!(covers_prefix("arn:aws:s3:::b*", "arn:aws:s3:::b/"));
        assert!(!covers_prefix(
            "arn:aws:s3:::b/private/*",
            "arn:aws:s3:::b/"
        ));
        assert!(!covers_prefix("arn:aws:s3:::b/*.csv", "arn:aws:s3:::b/"));
        assert!(!covers_prefix("arn:aws:s3:::other/*", "arn:aws:s3:::b/"));
        assert!(!covers_prefix("arn:aws:s3:::b", "arn:aws:s3:::b/"));
        // `?` stands for one character of the prefix; a literal only for itself.
        assert!(covers_prefix("arn:aws:s3:::?/*", "arn:aws:s3:::b/"));
        assert!(covers_prefix("a?c*", "abc"));
        assert!(!covers_prefix("a?c*", "ab"));
        assert!(!covers_prefix("x*", "b"));
        // A star may match nothing, before a literal too.
        assert!(covers_prefix("*b/*", "arn:aws:s3:::b/"));
        assert!(covers_prefix("*a*", "a"));
        // A pattern the prefix uses up does not match what follows the prefix.
        assert!(!covers_prefix("arn:aws:s3:::b/", "arn:aws:s3:::b/"));
        assert!(!covers_prefix("", ""));
        assert!(covers_prefix("*", ""));
    }
}
