//! Log Parser's SQL dialect, translated to DataFusion SQL over the `logs` table.
//!
//! | Log Parser | DataFusion SQL |
//! |---|---|
//! | `SELECT TOP 10 ...` | `SELECT ... LIMIT 10` |
//! | `cs-uri-stem`, `cs(User-Agent)`, `[s-ip]` | `cs_uri_stem`, `cs_user_agent`, `s_ip` |
//! | `date`, `time`, `TO_TIMESTAMP(date, time)` | `lp_to_date(timestamp)`, `lp_to_time(timestamp)`, `timestamp` |
//! | `LogFilename`, `LogRow` | `log_filename`, `log_row` |
//! | `IN ('a'; 'b')` | `IN ('a', 'b')` |
//! | `LIKE` (which ignores case) | `ILIKE` |
//! | `SQR`, `SQRROOT`, `EXP10`, `SYSTEM_DATE()`, `SYSTEM_TIME()`, `IN_ROW_NUMBER()` | `power(x, 2)`, `sqrt`, `power(10, x)`, `lp_to_date(system_timestamp())`, ..., `row_number() OVER ()` |
//! | `SUBSTR`, `TO_TIMESTAMP`, `TO_DATE`, `TO_TIME`, `TIMESTAMP('..', 'fmt')` | `lp_substr`, `lp_to_timestamp`, `lp_to_date`, `lp_to_time` |
//! | `PROPCOUNT(*) ON (x)`, `PROPSUM(e) ON (x)` | `count(*)` / `sum(e)` over the window `PARTITION BY x` |
//! | `USING e AS a` | a subquery that adds `a` |
//! | `GROUP BY a, b WITH ROLLUP` | `GROUP BY ROLLUP(a, b)` |
//! | `/* */`, `//` comments | removed |
//! | `INTO file`, `FROM paths` | [`Translated::into`], [`Translated::from`] |
//!
//! `%name%` parameters are substituted first ([`substitute`]).

use datafusion::error::{DataFusionError, Result};

/// A translated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    /// The DataFusion SQL, reading the table `logs`.
    pub sql: String,
    /// The query's `FROM` entities (files, globs, folders), in order; empty for Log Parser
    /// Studio's `[LOGFILEPATH]`, whose paths come from elsewhere.
    pub from: Vec<String>,
    /// The query's `INTO` target (a file, or `STDOUT`), if any.
    pub into: Option<String>,
}

fn err(msg: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(format!("Log Parser query: {msg}"))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Space,
    Str(String),
    Word(String),
    Field(String),
    Num(String),
    Punct(String),
}

impl Tok {
    fn is_kw(&self, k: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(k))
    }
    fn is_punct(&self, p: &str) -> bool {
        matches!(self, Tok::Punct(x) if x == p)
    }
    fn text(&self) -> String {
        match self {
            Tok::Space => " ".into(),
            Tok::Str(s) | Tok::Word(s) | Tok::Num(s) | Tok::Punct(s) => s.clone(),
            Tok::Field(f) => f.clone(),
        }
    }
}

fn lex(q: &str) -> Result<Vec<Tok>> {
    let c: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            while i < c.len() && c[i].is_whitespace() {
                i += 1;
            }
            out.push(Tok::Space);
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let end = (i + 2..c.len().saturating_sub(1))
                .find(|j| c[*j] == '*' && c[*j + 1] == '/')
                .ok_or_else(|| err("a /* comment is not closed"))?;
            i = end + 2;
            out.push(Tok::Space);
        } else if (ch == '/' && c.get(i + 1) == Some(&'/') && (i == 0 || c[i - 1] != ':'))
            || (ch == '-' && c.get(i + 1) == Some(&'-'))
        {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
            out.push(Tok::Space);
        } else if ch == '\'' || ch == '"' {
            let mut s = String::from(ch);
            i += 1;
            loop {
                let Some(&x) = c.get(i) else {
                    return Err(err("a quoted text is not closed"));
                };
                s.push(x);
                i += 1;
                if x == ch {
                    if c.get(i) == Some(&ch) {
                        s.push(ch);
                        i += 1;
                        continue;
                    }
                    break;
                }
            }
            out.push(Tok::Str(s));
        } else if ch == '[' {
            let end = (i + 1..c.len())
                .find(|j| c[*j] == ']')
                .ok_or_else(|| err("a [field name] is not closed"))?;
            out.push(Tok::Field(c[i + 1..end].iter().collect()));
            i = end + 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len()
                && (c[i].is_alphanumeric()
                    || c[i] == '_'
                    || (c[i] == '-' && c.get(i + 1).is_some_and(|n| n.is_alphabetic())))
            {
                i += 1;
            }
            let w: String = c[start..i].iter().collect();
            // `cs(User-Agent)`: a header field, not a call.
            let header = ["cs", "sc", "s", "c"].contains(&w.to_ascii_lowercase().as_str())
                && c.get(i) == Some(&'(');
            if header
                && let Some(end) = (i + 1..c.len()).find(|j| c[*j] == ')')
                && c[i + 1..end]
                    .iter()
                    .all(|x| x.is_alphanumeric() || *x == '-' || *x == '_')
                && end > i + 1
            {
                let f: String = c[start..=end].iter().collect();
                out.push(Tok::Field(f));
                i = end + 1;
                continue;
            }
            out.push(Tok::Word(w));
        } else if ch.is_ascii_digit() {
            let start = i;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(c[start..i].iter().collect()));
        } else {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            if ["<=", ">=", "<>", "!="].contains(&two.as_str()) {
                out.push(Tok::Punct(two));
                i += 2;
            } else {
                out.push(Tok::Punct(ch.to_string()));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Replaces `%name%` by the value of `name` (names compared without case).
pub fn substitute(query: &str, params: &[(String, String)]) -> String {
    let mut q = query.to_string();
    for (k, v) in params {
        let pat = format!("%{k}%");
        let mut out = String::new();
        let mut rest = q.as_str();
        while let Some(i) = rest.to_ascii_lowercase().find(&pat.to_ascii_lowercase()) {
            out.push_str(&rest[..i]);
            out.push_str(v);
            rest = &rest[i + pat.len()..];
        }
        out.push_str(rest);
        q = out;
    }
    q
}

/// A column name for a Log Parser field.
fn column(field: &str) -> String {
    match field.to_ascii_lowercase().as_str() {
        "logfilename" => "log_filename".into(),
        "logrow" => "log_row".into(),
        "date" => "lp_to_date(timestamp)".into(),
        "time" => "lp_to_time(timestamp)".into(),
        "rownumber" => "log_row".into(),
        other => match CAMEL_FIELDS.iter().find(|(lp, _)| *lp == other) {
            Some((_, col)) => (*col).into(),
            None => iis_log::fields::column_name(field),
        },
    }
}

/// Log Parser's field names of the IIS native and NCSA formats (written in camel case, bare or
/// in brackets), lower-cased, and their columns.
const CAMEL_FIELDS: [(&str, &str); 17] = [
    ("datetime", "timestamp"),
    ("userip", "user_ip"),
    ("username", "user_name"),
    ("serviceinstance", "service_instance"),
    ("hostname", "host_name"),
    ("serverip", "server_ip"),
    ("timetaken", "time_taken"),
    ("bytessent", "bytes_sent"),
    ("bytesreceived", "bytes_received"),
    ("statuscode", "status_code"),
    ("win32statuscode", "win32_status_code"),
    ("requesttype", "request_type"),
    ("remotehostname", "remote_host_name"),
    ("remotelogname", "remote_log_name"),
    ("target", "target"),
    ("parameters", "parameters"),
    ("request", "request"),
];

const CLAUSES: [&str; 8] = [
    "SELECT", "USING", "INTO", "FROM", "WHERE", "GROUP", "HAVING", "ORDER",
];

/// Index of the token after the group that opens at `open` (a `(`).
fn close_of(t: &[Tok], open: usize) -> Result<usize> {
    let mut depth = 0;
    for (j, x) in t.iter().enumerate().skip(open) {
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
            if depth == 0 {
                return Ok(j + 1);
            }
        }
    }
    Err(err("a parenthesis is not closed"))
}

fn next_solid(t: &[Tok], from: usize) -> usize {
    let mut j = from;
    while j < t.len() && t[j] == Tok::Space {
        j += 1;
    }
    j
}

/// Rewrites the tokens of an expression list into DataFusion SQL.
fn expr(t: &[Tok]) -> Result<String> {
    let mut out = String::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < t.len() {
        let tok = &t[i];
        let after = next_solid(t, i + 1);
        let call = t.get(after).is_some_and(|x| x.is_punct("("));
        match tok {
            Tok::Word(w) if call => {
                let lw = w.to_ascii_lowercase();
                let close = close_of(t, after)?;
                let inner = &t[after + 1..close - 1];
                let solid: Vec<&Tok> = inner.iter().filter(|x| **x != Tok::Space).collect();
                if lw == "to_timestamp"
                    && solid.len() == 3
                    && solid[0].is_kw("date")
                    && solid[1].is_punct(",")
                    && solid[2].is_kw("time")
                {
                    out.push_str("timestamp");
                    i = close;
                    continue;
                }
                if lw == "propcount" || lw == "propsum" {
                    let agg = if lw == "propcount" {
                        format!("count({})", expr(inner)?)
                    } else {
                        format!("sum({})", expr(inner)?)
                    };
                    let mut partition = String::new();
                    let mut end = close;
                    let on = next_solid(t, close);
                    if t.get(on).is_some_and(|x| x.is_kw("ON")) {
                        let open = next_solid(t, on + 1);
                        if !t.get(open).is_some_and(|x| x.is_punct("(")) {
                            return Err(err(format!("{w}(...) ON needs a (list)")));
                        }
                        let c = close_of(t, open)?;
                        partition = format!("PARTITION BY {}", expr(&t[open + 1..c - 1])?);
                        end = c;
                    }
                    out.push_str(&format!(
                        "(CAST({agg} AS DOUBLE) / sum({agg}) OVER ({partition}))"
                    ));
                    i = end;
                    continue;
                }
                // Functions written another way here, with their (rewritten) arguments.
                let args = || expr(inner);
                let whole = match lw.as_str() {
                    "sqr" => Some(format!("power({}, 2)", args()?)),
                    "sqrroot" => Some(format!("sqrt({})", args()?)),
                    "exp10" => Some(format!("power(10, {})", args()?)),
                    "system_date" => Some("lp_to_date(system_timestamp())".to_string()),
                    "system_time" => Some("lp_to_time(system_timestamp())".to_string()),
                    "in_row_number" | "out_row_number" | "sequence" if solid.is_empty() => {
                        Some("row_number() OVER ()".to_string())
                    }
                    _ => None,
                };
                if let Some(w) = whole {
                    out.push_str(&w);
                    i = close;
                    continue;
                }
                let name = match lw.as_str() {
                    "substr" => "lp_substr",
                    "to_timestamp" | "timestamp" => "lp_to_timestamp",
                    "to_date" => "lp_to_date",
                    "to_time" => "lp_to_time",
                    _ => w.as_str(),
                };
                out.push_str(name);
                i += 1;
            }
            Tok::Word(w) if w.contains('-') => {
                out.push_str(&column(w));
                i += 1;
            }
            Tok::Word(w)
                if ["date", "time", "logfilename", "logrow"]
                    .contains(&w.to_ascii_lowercase().as_str()) =>
            {
                out.push_str(&column(w));
                i += 1;
            }
            Tok::Field(f) => {
                out.push_str(&column(f));
                i += 1;
            }
            // Log Parser's LIKE ignores case.
            Tok::Word(w) if w.eq_ignore_ascii_case("like") => {
                out.push_str("ILIKE");
                i += 1;
            }
            Tok::Punct(p) if p == "(" => {
                depth += 1;
                out.push('(');
                i += 1;
            }
            Tok::Punct(p) if p == ")" => {
                depth = depth.saturating_sub(1);
                out.push(')');
                i += 1;
            }
            // Value lists: `IN ('a'; 'b')`.
            Tok::Punct(p) if p == ";" && depth > 0 => {
                out.push(',');
                i += 1;
            }
            Tok::Str(s) if s.starts_with('"') => {
                // Log Parser quotes text with either quote; SQL's text is single-quoted.
                let inner = &s[1..s.len() - 1];
                out.push_str(&format!(
                    "'{}'",
                    inner.replace("\"\"", "\"").replace('\'', "''")
                ));
                i += 1;
            }
            other => {
                out.push_str(&other.text());
                i += 1;
            }
        }
    }
    Ok(out.trim().to_string())
}

fn raw(t: &[Tok]) -> String {
    t.iter()
        .map(Tok::text)
        .collect::<String>()
        .trim()
        .to_string()
}

/// `s` without the quotes around it, when it starts and ends with the same quote.
fn unquote(s: &str) -> String {
    let s = s.trim();
    ['\'', '"']
        .into_iter()
        .find_map(|q| s.strip_prefix(q).and_then(|r| r.strip_suffix(q)))
        .unwrap_or(s)
        .to_string()
}

/// Translates one Log Parser query (parameters already substituted) over IIS W3C logs.
pub fn translate(query: &str) -> Result<Translated> {
    translate_for(query, iis_log::LogFormat::IisW3c)
}

/// Translates one Log Parser query over logs of `format`: the IIS native and NCSA formats'
/// bare field names (`UserIP`, `StatusCode`, `DateTime`) become their columns too.
pub fn translate_for(query: &str, format: iis_log::LogFormat) -> Result<Translated> {
    let mut t = lex(query.trim().trim_end_matches(';'))?;
    if matches!(format, iis_log::LogFormat::Iis | iis_log::LogFormat::Ncsa) {
        for x in &mut t {
            if let Tok::Word(w) = x
                && CAMEL_FIELDS
                    .iter()
                    .any(|(lp, _)| *lp == w.to_ascii_lowercase())
            {
                *x = Tok::Field(w.clone());
            }
        }
    }
    // The clauses, at the top level.
    let mut starts: Vec<(String, usize)> = Vec::new();
    let mut depth = 0i32;
    for (i, x) in t.iter().enumerate() {
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
        } else if depth == 0
            && let Tok::Word(w) = x
        {
            let u = w.to_ascii_uppercase();
            if CLAUSES.contains(&u.as_str()) && !starts.iter().any(|(k, _)| *k == u) {
                starts.push((u, i));
            }
        }
    }
    if starts.first().map(|(k, _)| k.as_str()) != Some("SELECT") {
        return Err(err("it must start with SELECT"));
    }
    let part = |name: &str| -> Option<&[Tok]> {
        let k = starts.iter().position(|(n, _)| n == name)?;
        let from = starts[k].1 + 1;
        let to = starts.get(k + 1).map_or(t.len(), |(_, i)| *i);
        Some(&t[from..to])
    };
    // SELECT [TOP n] [DISTINCT|ALL] list
    let mut select = part("SELECT").unwrap_or(&[]).to_vec();
    let mut limit = None;
    let first = next_solid(&select, 0);
    if select.get(first).is_some_and(|x| x.is_kw("TOP")) {
        let n = next_solid(&select, first + 1);
        match select.get(n) {
            Some(Tok::Num(v)) if v.parse::<u64>().is_ok() => limit = Some(v.clone()),
            _ => return Err(err("TOP needs a number of rows")),
        }
        select.drain(first..=n);
    }
    if select.iter().any(|x| x.is_punct("*"))
        && part("ORDER").is_some_and(|o| {
            let s: Vec<&Tok> = o.iter().filter(|x| **x != Tok::Space).collect();
            s.len() >= 2 && s[1].is_punct("*")
        })
    {
        return Err(err(
            "ORDER BY * is not supported: name the columns to sort by",
        ));
    }
    let into = match part("INTO") {
        Some(p) => {
            let target = unquote(&raw(p));
            let up = target.to_ascii_uppercase();
            if up == "DATAGRID" {
                return Err(err(
                    "INTO DATAGRID (a Windows window) is not supported: use INTO file.csv, or \
                     iisql's prompt",
                ));
            }
            if target.contains('*') {
                return Err(err(
                    "INTO with `*` (one file per value) is not supported: write one file and \
                     GROUP BY the value, or run one query per value",
                ));
            }
            Some(target)
        }
        None => None,
    };
    let from = match part("FROM") {
        Some(p) => {
            let text = raw(p);
            if text.eq_ignore_ascii_case("stdin") {
                return Err(err("FROM STDIN is not supported: give the log files"));
            }
            if text.eq_ignore_ascii_case("[LOGFILEPATH]")
                || text.eq_ignore_ascii_case("LOGFILEPATH")
            {
                vec![]
            } else {
                // A comma list of files, globs and folders, each maybe quoted.
                let mut items = Vec::new();
                let mut cur = String::new();
                for x in p {
                    match x {
                        Tok::Punct(c) if c == "," => {
                            items.push(unquote(&cur));
                            cur.clear();
                        }
                        Tok::Field(f) => cur.push_str(&format!("[{f}]")),
                        other => cur.push_str(&other.text()),
                    }
                }
                items.push(unquote(&cur));
                items.into_iter().filter(|s| !s.is_empty()).collect()
            }
        }
        None => return Err(err("it has no FROM")),
    };
    let mut source = "logs".to_string();
    if let Some(u) = part("USING") {
        source = format!("(SELECT *, {} FROM logs) AS lp_using", expr(u)?);
    }
    let mut sql = format!("SELECT {} FROM {source}", expr(&select)?);
    if let Some(w) = part("WHERE") {
        sql.push_str(&format!(" WHERE {}", expr(w)?));
    }
    if let Some(g) = part("GROUP") {
        // GROUP BY list [WITH ROLLUP]
        let mut g = g.to_vec();
        let solid: Vec<usize> = (0..g.len()).filter(|i| g[*i] != Tok::Space).collect();
        let rollup = solid.len() >= 2
            && g[solid[solid.len() - 2]].is_kw("WITH")
            && g[solid[solid.len() - 1]].is_kw("ROLLUP");
        if rollup {
            g.truncate(solid[solid.len() - 2]);
        }
        let by = next_solid(&g, 0);
        if !g.get(by).is_some_and(|x| x.is_kw("BY")) {
            return Err(err("GROUP needs BY"));
        }
        let list = expr(&g[by + 1..])?;
        if rollup {
            sql.push_str(&format!(" GROUP BY ROLLUP({list})"));
        } else {
            sql.push_str(&format!(" GROUP BY {list}"));
        }
    }
    if let Some(h) = part("HAVING") {
        sql.push_str(&format!(" HAVING {}", expr(h)?));
    }
    if let Some(o) = part("ORDER") {
        sql.push_str(&format!(" ORDER {}", expr(o)?));
    }
    if let Some(n) = limit {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    Ok(Translated { sql, from, into })
}

/// A query given as `file:query.sql?p1=v1+p2=v2`: the file's text and its parameters.
pub fn parse_file_query(spec: &str) -> Option<(String, Vec<(String, String)>)> {
    let rest = spec.strip_prefix("file:")?;
    let (path, params) = match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    let params = params
        .split('+')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect();
    Some((path.to_string(), params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(q: &str) -> String {
        translate(q).unwrap().sql
    }

    #[test]
    fn shapes_of_real_scripts() {
        assert_eq!(
            sql(
                "SELECT TOP 10 cs-uri-stem, COUNT(*) AS Hits FROM ex*.log GROUP BY cs-uri-stem ORDER BY Hits DESC"
            ),
            "SELECT cs_uri_stem, COUNT(*) AS Hits FROM logs GROUP BY cs_uri_stem ORDER BY Hits DESC LIMIT 10"
        );
        assert_eq!(
            sql(
                "SELECT [cs(User-Agent)], cs(Referer) FROM x.log WHERE sc-status IN (401; 403) // tail"
            ),
            "SELECT cs_user_agent, cs_referer FROM logs WHERE sc_status IN (401, 403)"
        );
        assert_eq!(
            sql("SELECT QUANTIZE(TO_TIMESTAMP(date, time), 3600) AS Hour FROM x.log /* c */"),
            "SELECT QUANTIZE(timestamp, 3600) AS Hour FROM logs"
        );
        assert_eq!(
            sql("SELECT date, SUBSTR(cs-uri-query, 0, 3) FROM x"),
            "SELECT lp_to_date(timestamp), lp_substr(cs_uri_query, 0, 3) FROM logs"
        );
        assert_eq!(
            sql(
                "SELECT sc-status, MUL(PROPCOUNT(*) ON (s-ip), 100.0) FROM x GROUP BY s-ip, sc-status WITH ROLLUP"
            ),
            "SELECT sc_status, MUL((CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (PARTITION BY s_ip)), 100.0) FROM logs GROUP BY ROLLUP(s_ip, sc_status)"
        );
        let t = translate(
            "SELECT * INTO 'out put.csv' FROM a.log, 'C:\\logs\\b c.log' WHERE x = \"it's\"",
        )
        .unwrap();
        assert_eq!(t.into.as_deref(), Some("out put.csv"));
        assert_eq!(t.from, vec!["a.log", "C:\\logs\\b c.log"]);
        assert_eq!(t.sql, "SELECT * FROM logs WHERE x = 'it''s'");
        assert!(
            translate("SELECT * FROM [LOGFILEPATH]")
                .unwrap()
                .from
                .is_empty()
        );
    }

    #[test]
    fn what_cannot_be_translated_says_so() {
        for (q, want) in [
            ("SELECT a INTO DATAGRID FROM x", "DATAGRID"),
            ("SELECT a INTO out_*.csv FROM x", "one file per value"),
            ("SELECT a FROM STDIN", "STDIN"),
            ("SELECT TOP x a FROM y", "TOP needs a number"),
            ("DELETE FROM x", "must start with SELECT"),
            ("SELECT a", "no FROM"),
        ] {
            let e = translate(q).unwrap_err().to_string();
            assert!(e.contains(want), "{q}: {e}");
        }
    }

    /// Text after a quoted name, or a name with one quote, is kept as it is (a file name that
    /// does not exist), never cut inside a character.
    #[test]
    fn quotes_that_do_not_close_a_name() {
        for (q, from) in [
            ("SELECT * FROM 'x'é", "'x'é"),
            ("SELECT * FROM \"日本.log\"", "日本.log"),
            ("SELECT * FROM 'a.log'", "a.log"),
        ] {
            assert_eq!(translate(q).unwrap().from, vec![from.to_string()], "{q}");
        }
        let e = translate("SELECT * FROM 'é").unwrap_err().to_string();
        assert!(e.contains("not closed"), "{e}");
    }

    #[test]
    fn parameters() {
        assert_eq!(
            substitute(
                "WHERE cs-username = '%User%' AND x > %MIN%",
                &[("user".into(), "jdoe".into()), ("min".into(), "5".into())]
            ),
            "WHERE cs-username = 'jdoe' AND x > 5"
        );
        assert_eq!(
            parse_file_query("file:q.sql?user=jdoe+min=5"),
            Some((
                "q.sql".into(),
                vec![("user".into(), "jdoe".into()), ("min".into(), "5".into())]
            ))
        );
    }
}
