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
//! | `INTO file`, `FROM paths` | [`Translated::into`] (with `*`: one file per value of the first columns), [`Translated::from`] |
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
    /// DataFusion SQL already translated (a SELECT alias's expression).
    Sql(String),
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
            Tok::Str(s) | Tok::Word(s) | Tok::Num(s) | Tok::Punct(s) | Tok::Sql(s) => s.clone(),
            Tok::Field(f) => f.clone(),
        }
    }
}

/// Whether the `/*` at `i` is inside a path (`FROM /logs/*.log`), not a comment: it follows a
/// path's character, or no `*/` closes it.
fn in_path(c: &[char], i: usize) -> bool {
    let after_path_char = i > 0
        && (c[i - 1].is_alphanumeric() || ['/', '\\', '.', '_', '-', ':'].contains(&c[i - 1]));
    let closed = (i + 2..c.len().saturating_sub(1)).any(|j| c[j] == '*' && c[j + 1] == '/');
    after_path_char || !closed
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
        } else if ch == '/' && c.get(i + 1) == Some(&'*') && !in_path(&c, i) {
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

/// The arguments of a call (the tokens between its parentheses), split at top-level commas.
fn arguments(inner: &[Tok]) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let (mut depth, mut from) = (0i32, 0);
    for (i, x) in inner.iter().enumerate() {
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
        } else if depth == 0 && x.is_punct(",") {
            out.push(&inner[from..i]);
            from = i + 1;
        }
    }
    out.push(&inner[from..]);
    out
}

/// Log Parser's `time` field, or `QUANTIZE`, `TO_LOCALTIME` or `TO_UTCTIME` of it, as an
/// expression over the whole `timestamp` (whose time of day it is): `None` for anything else.
/// Log Parser computes these on a time of day; here they run on the instant, so a local time
/// takes that day's offset.
fn over_timestamp(t: &[Tok]) -> Result<Option<String>> {
    let solid: Vec<usize> = (0..t.len()).filter(|i| t[*i] != Tok::Space).collect();
    let (Some(&first), Some(&last)) = (solid.first(), solid.last()) else {
        return Ok(None);
    };
    if first == last {
        return Ok(t[first].is_kw("time").then(|| "timestamp".to_string()));
    }
    let Tok::Word(f) = &t[first] else {
        return Ok(None);
    };
    let lf = f.to_ascii_lowercase();
    let open = next_solid(t, first + 1);
    if !["quantize", "to_localtime", "to_utctime"].contains(&lf.as_str())
        || !t.get(open).is_some_and(|x| x.is_punct("("))
        || close_of(t, open)? != last + 1
    {
        return Ok(None);
    }
    let args = arguments(&t[open + 1..last]);
    let Some(inner) = over_timestamp(args[0])? else {
        return Ok(None);
    };
    let mut call = format!("{f}({inner}");
    for a in &args[1..] {
        call.push_str(&format!(", {}", expr(a)?));
    }
    call.push(')');
    Ok(Some(call))
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
                // `TO_TIMESTAMP(date)`: the day's start, as a timestamp.
                if lw == "to_timestamp" && solid.len() == 1 && solid[0].is_kw("date") {
                    out.push_str("date_trunc('day', timestamp)");
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
                // A function of the time of day: computed on the timestamp, the time taken after.
                if let Some(ts) = over_timestamp(&t[i..close])? {
                    out.push_str(&format!("lp_to_time({ts})"));
                    i = close;
                    continue;
                }
                if lw == "to_string"
                    && let [first, rest @ ..] = arguments(inner).as_slice()
                    && let Some(ts) = over_timestamp(first)?
                {
                    out.push_str(&format!("{w}({ts}"));
                    for a in rest {
                        out.push_str(&format!(", {}", expr(a)?));
                    }
                    out.push(')');
                    i = close;
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
            // `x = NULL`, `x <> NULL`: Log Parser's tests for a missing value.
            Tok::Punct(p)
                if ["=", "<>", "!="].contains(&p.as_str())
                    && t.get(after).is_some_and(|x| x.is_kw("NULL")) =>
            {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
                out.push_str(if p == "=" { "IS NULL" } else { "IS NOT NULL" });
                i = after + 1;
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

/// One item of a SELECT list: its tokens, and the name it has in Log Parser's output (its
/// `AS` alias as written, or its text).
struct Item {
    toks: Vec<Tok>,
    alias: Option<String>,
    name: String,
}

/// The items of a SELECT list (split at its top-level commas).
fn items(t: &[Tok]) -> Vec<Item> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur: Vec<Tok> = Vec::new();
    for x in t.iter().chain(std::iter::once(&Tok::Punct(",".into()))) {
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
        }
        if depth > 0 || !x.is_punct(",") {
            cur.push(x.clone());
            continue;
        }
        let solid: Vec<usize> = (0..cur.len()).filter(|i| cur[*i] != Tok::Space).collect();
        let alias = match solid.as_slice() {
            [.., as_kw, name] if solid.len() >= 3 && cur[*as_kw].is_kw("AS") => {
                let alias = match &cur[*name] {
                    Tok::Word(w) | Tok::Field(w) => Some(w.clone()),
                    Tok::Str(q) => Some(unquote(q)),
                    _ => None,
                };
                if alias.is_some() {
                    cur.truncate(*as_kw);
                }
                alias
            }
            _ => None,
        };
        let name = alias.clone().unwrap_or_else(|| raw(&cur));
        out.push(Item {
            toks: std::mem::take(&mut cur),
            alias,
            name,
        });
    }
    out
}

/// `t` with every name of `aliases` (lower-cased alias, its SQL) that is not a call replaced by
/// its expression: Log Parser resolves a SELECT alias anywhere in the query.
fn resolve_aliases(t: &[Tok], aliases: &[(String, String)]) -> Vec<Tok> {
    let mut out = t.to_vec();
    for i in 0..out.len() {
        let name = match &out[i] {
            Tok::Word(w) | Tok::Field(w) => w.to_ascii_lowercase(),
            _ => continue,
        };
        let call = out
            .get(next_solid(&out, i + 1))
            .is_some_and(|x| x.is_punct("("));
        if call {
            continue;
        }
        if let Some((_, sql)) = aliases.iter().rev().find(|(a, _)| *a == name) {
            out[i] = Tok::Sql(format!("({sql})"));
        }
    }
    out
}

/// `name` as a quoted SQL identifier (its case, spaces and dashes kept).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The SELECT list in DataFusion SQL, each column named as Log Parser names it, and the
/// aliases (lower-cased, with their SQL) for the other clauses.
fn select_list(t: &[Tok]) -> Result<(String, Vec<(String, String)>)> {
    let mut aliases: Vec<(String, String)> = Vec::new();
    let mut cols = Vec::new();
    for item in items(t) {
        let sql = expr(&resolve_aliases(&item.toks, &aliases))?;
        if sql == "*" || sql.ends_with(".*") {
            cols.push(sql);
            continue;
        }
        cols.push(format!("{sql} AS {}", quoted(&item.name)));
        if let Some(a) = item.alias {
            aliases.push((a.to_ascii_lowercase(), sql));
        }
    }
    Ok((cols.join(", "), aliases))
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
    // DISTINCT or ALL, before the items.
    let mut quantifier = "";
    let first = next_solid(&select, 0);
    if let Some(q) = select
        .get(first)
        .filter(|x| x.is_kw("DISTINCT") || x.is_kw("ALL"))
    {
        quantifier = if q.is_kw("DISTINCT") {
            "DISTINCT "
        } else {
            "ALL "
        };
        select.drain(..=first);
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
    let (list, aliases) = select_list(&select)?;
    let clause = |t: &[Tok]| expr(&resolve_aliases(t, &aliases));
    let mut sql = format!("SELECT {quantifier}{list} FROM {source}");
    if let Some(w) = part("WHERE") {
        sql.push_str(&format!(" WHERE {}", clause(w)?));
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
        let list = clause(&g[by + 1..])?;
        if rollup {
            sql.push_str(&format!(" GROUP BY ROLLUP({list})"));
        } else {
            sql.push_str(&format!(" GROUP BY {list}"));
        }
    }
    if let Some(h) = part("HAVING") {
        sql.push_str(&format!(" HAVING {}", clause(h)?));
    }
    if let Some(o) = part("ORDER") {
        sql.push_str(&format!(" ORDER {}", clause(o)?));
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
            "SELECT cs_uri_stem AS \"cs-uri-stem\", COUNT(*) AS \"Hits\" FROM logs GROUP BY cs_uri_stem ORDER BY (COUNT(*)) DESC LIMIT 10"
        );
        assert_eq!(
            sql(
                "SELECT [cs(User-Agent)], cs(Referer) FROM x.log WHERE sc-status IN (401; 403) // tail"
            ),
            "SELECT cs_user_agent AS \"cs(User-Agent)\", cs_referer AS \"cs(Referer)\" FROM logs WHERE sc_status IN (401, 403)"
        );
        assert_eq!(
            sql("SELECT QUANTIZE(TO_TIMESTAMP(date, time), 3600) AS Hour FROM x.log /* c */"),
            "SELECT QUANTIZE(timestamp, 3600) AS \"Hour\" FROM logs"
        );
        assert_eq!(
            sql(
                "Select To_date (To_localtime (To_timestamp (Date))) as [Day] from x group by [Day]"
            ),
            "SELECT lp_to_date (To_localtime (date_trunc('day', timestamp))) AS \"Day\" FROM logs \
             GROUP BY (lp_to_date (To_localtime (date_trunc('day', timestamp))))"
        );
        assert_eq!(
            sql("SELECT date, SUBSTR(cs-uri-query, 0, 3) FROM x"),
            "SELECT lp_to_date(timestamp) AS \"date\", lp_substr(cs_uri_query, 0, 3) AS \"SUBSTR(cs-uri-query, 0, 3)\" FROM logs"
        );
        assert_eq!(
            sql(
                "SELECT sc-status, MUL(PROPCOUNT(*) ON (s-ip), 100.0) AS Pct FROM x GROUP BY s-ip, sc-status WITH ROLLUP"
            ),
            "SELECT sc_status AS \"sc-status\", MUL((CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (PARTITION BY s_ip)), 100.0) AS \"Pct\" FROM logs GROUP BY ROLLUP(s_ip, sc_status)"
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

    /// Log Parser resolves a SELECT alias in every clause and in later SELECT items; an alias
    /// may be bracketed with spaces, have dashes, or be named like a field or a function.
    #[test]
    fn aliases_anywhere() {
        assert_eq!(
            sql(
                "SELECT COUNT(*) AS Hits, DIV(MUL(1.0, SUM(time-taken)), Hits) AS AvgTime FROM x \
                 HAVING Hits > 2 ORDER BY AvgTime"
            ),
            "SELECT COUNT(*) AS \"Hits\", DIV(MUL(1.0, SUM(time_taken)), (COUNT(*))) AS \"AvgTime\" \
             FROM logs HAVING (COUNT(*)) > 2 ORDER BY (DIV(MUL(1.0, SUM(time_taken)), (COUNT(*))))"
        );
        assert_eq!(
            sql(
                "SELECT TO_STRING(time, 'hh') AS Hour, COUNT(*) AS [Hits by Hour] FROM x \
                 WHERE Hour > '08' GROUP BY Hour ORDER BY [Hits by Hour] DESC"
            ),
            "SELECT TO_STRING(timestamp, 'hh') AS \"Hour\", COUNT(*) AS \"Hits by Hour\" \
             FROM logs WHERE (TO_STRING(timestamp, 'hh')) > '08' \
             GROUP BY (TO_STRING(timestamp, 'hh')) ORDER BY (COUNT(*)) DESC"
        );
        assert_eq!(
            sql("SELECT DISTINCT c-ip AS ip-range, COUNT(ip-range) AS n FROM x GROUP BY ip-range"),
            "SELECT DISTINCT c_ip AS \"ip-range\", COUNT((c_ip)) AS \"n\" FROM logs GROUP BY (c_ip)"
        );
        // An alias named like a field is the alias in the other clauses.
        assert_eq!(
            sql("SELECT TO_LOCALTIME(date) AS date FROM x ORDER BY date"),
            "SELECT TO_LOCALTIME(lp_to_date(timestamp)) AS \"date\" FROM logs \
             ORDER BY (TO_LOCALTIME(lp_to_date(timestamp)))"
        );
    }

    /// Functions of the time of day run on the timestamp; `= NULL` and `<> NULL` test for it.
    #[test]
    fn time_of_day_functions_and_null_tests() {
        assert_eq!(
            sql("SELECT TO_LOCALTIME(QUANTIZE(time, 1800)), TO_STRING(time, 'hh') FROM x"),
            "SELECT lp_to_time(TO_LOCALTIME(QUANTIZE(timestamp, 1800))) AS \
             \"TO_LOCALTIME(QUANTIZE(time, 1800))\", TO_STRING(timestamp, 'hh') AS \
             \"TO_STRING(time, 'hh')\" FROM logs"
        );
        // Functions of other values are left as they are.
        assert_eq!(
            sql("SELECT QUANTIZE(time-taken, 100) AS q FROM x WHERE a = NULL OR b<>NULL"),
            "SELECT QUANTIZE(time_taken, 100) AS \"q\" FROM logs WHERE a IS NULL OR b IS NOT NULL"
        );
    }

    /// Comments before the query, and a path whose `/*` is a glob, not a comment.
    #[test]
    fn query_text_as_it_sits_in_scripts() {
        let t = translate(
            "-- hits per page\n/* from the\nhealth check */\nselect count(*) from /data/logs/*.log, \
             C:\\logs\\ex*.log where cs-method in ('GET'; 'POST')",
        )
        .unwrap();
        assert_eq!(t.from, ["/data/logs/*.log", "C:\\logs\\ex*.log"]);
        assert_eq!(
            t.sql,
            "SELECT count(*) AS \"count(*)\" FROM logs WHERE cs_method in ('GET', 'POST')"
        );
        assert_eq!(
            translate("SELECT * FROM /var/log/iis/*").unwrap().from,
            ["/var/log/iis/*"]
        );
    }

    #[test]
    fn what_cannot_be_translated_says_so() {
        for (q, want) in [
            ("SELECT a INTO DATAGRID FROM x", "DATAGRID"),
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
