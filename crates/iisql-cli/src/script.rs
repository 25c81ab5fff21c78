//! Splits SQL text into statements, remembering the line each starts on.

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL text, without the final `;`.
    pub sql: String,
    /// 1-based line of its first non-blank character.
    pub line: usize,
}

/// Splits on `;` outside quotes and comments (`'..'`, `".."`, `--`, `/* */`). Empty statements
/// are dropped.
pub fn split_statements(text: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut line = 1;
    let mut start_line: Option<usize> = None;
    let mut chars = text.chars().peekable();
    // A `;` inside parentheses separates values, not statements (Log Parser's `IN ('a'; 'b')`).
    let mut depth = 0usize;
    let push = |cur: &mut String, start: &mut Option<usize>, out: &mut Vec<Statement>| {
        let sql = cur.trim().to_string();
        if !sql.is_empty()
            && let Some(l) = *start
        {
            out.push(Statement { sql, line: l });
        }
        cur.clear();
        *start = None;
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                start_line.get_or_insert(line);
                cur.push(c);
                for d in chars.by_ref() {
                    cur.push(d);
                    if d == '\n' {
                        line += 1;
                    }
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                cur.push(c);
                for d in chars.by_ref() {
                    if d == '\n' {
                        line += 1;
                        cur.push('\n');
                        break;
                    }
                    cur.push(d);
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                cur.push(c);
                let mut prev = ' ';
                for d in chars.by_ref() {
                    cur.push(d);
                    if d == '\n' {
                        line += 1;
                    }
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
            }
            ';' if depth == 0 => push(&mut cur, &mut start_line, &mut out),
            '(' | ')' => {
                depth = if c == '(' {
                    depth + 1
                } else {
                    depth.saturating_sub(1)
                };
                start_line.get_or_insert(line);
                cur.push(c);
            }
            '\n' => {
                line += 1;
                cur.push(c);
            }
            c => {
                if !c.is_whitespace() {
                    start_line.get_or_insert(line);
                }
                cur.push(c);
            }
        }
    }
    push(&mut cur, &mut start_line, &mut out);
    out
}

/// Whether `text` ends with a `;` outside quotes and comments (the REPL keeps reading lines
/// until it does).
pub fn is_complete(text: &str) -> bool {
    let mut last = None;
    let mut depth = 0i64;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                if !chars.by_ref().any(|d| d == c) {
                    return false;
                }
                last = Some(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                let mut closed = false;
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        closed = true;
                        break;
                    }
                    prev = d;
                }
                if !closed {
                    return false;
                }
            }
            c if c.is_whitespace() => {}
            c => {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                last = Some(c);
            }
        }
    }
    last == Some(';') && depth <= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_with_line_numbers() {
        let s = split_statements(
            "-- a comment; not a split\nSELECT 1;\n\nSELECT ';' AS x,\n  2 /* ; */;\n  SELECT 3",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].line, 2);
        assert_eq!(s[1].line, 4);
        assert!(s[1].sql.contains("';'"));
        assert_eq!(s[2].line, 6);
        assert_eq!(s[2].sql, "SELECT 3");
    }

    #[test]
    fn completeness() {
        assert!(is_complete("SELECT 1;"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';"));
        assert!(!is_complete("SELECT 1 -- ;"));
        assert!(is_complete("SELECT 1; -- done"));
        assert!(!is_complete("SELECT 1 /* ; */"));
    }
}

#[cfg(test)]
mod value_lists {
    use super::{is_complete, split_statements};

    #[test]
    fn a_semicolon_in_parentheses_separates_values_not_statements() {
        let s = split_statements("SELECT a FROM x WHERE b IN ('p'; 'q');\nSELECT 2;");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].sql, "SELECT a FROM x WHERE b IN ('p'; 'q')");
        assert_eq!(s[1].line, 2);
        assert!(!is_complete("SELECT a FROM x WHERE b IN ('p';"));
        assert!(is_complete("SELECT a FROM x WHERE b IN ('p'; 'q');"));
    }
}
