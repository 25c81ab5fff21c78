//! Saved queries: `.sql` files with a metadata header (name, title, what a hit means, what to
//! check next, typed parameters), bundled from `queries/` or read from a folder, and run with
//! their parameters bound as values, never pasted into the SQL text.
//!
//! ```text
//! -- name: cba_cert_missing
//! -- title: Devices without a client certificate (403.7)
//! -- kind: check
//! -- severity: high
//! -- order: 10
//! -- finds: ActiveSync devices that ...
//! -- param: min_hits int 3 Fewest 403.7 requests that make a finding
//! -- means: The device has no client certificate ...
//! -- next: Check the MDM profile ...
//! SELECT ... WHERE hits >= $min_hits
//! ```
//! A header value continues on following `--` lines indented by at least two spaces.
//!
//! A file of `-- kind: fragment` holds common table expressions (`name AS (...), ...`) that
//! several queries share: a query that names it in `-- with:` gets them in front of its own
//! (its SQL starts `WITH`, or is given one), and the fragment's parameters it does not declare
//! itself. Fragments are not queries: [`Catalog::list`] and [`Catalog::get`] leave them out.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled_queries.rs"));
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Minor.
    Low,
    /// Something is misconfigured or some users are affected.
    Medium,
    /// Users cannot sync.
    High,
    /// Many users cannot sync.
    Critical,
}

impl Severity {
    /// Parses `info`, `low`, `medium`, `high`, `critical`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "info" => Self::Info,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        })
    }
}

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A whole number (`Int64`).
    Int,
    /// A number (`Float64`).
    Float,
    /// Text.
    Text,
    /// `YYYY-MM-DD[ HH:MM:SS]`, UTC.
    Timestamp,
    /// `true` or `false`.
    Bool,
}

impl ParamType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "int" => Self::Int,
            "float" | "real" => Self::Float,
            "text" | "string" => Self::Text,
            "timestamp" => Self::Timestamp,
            "bool" => Self::Bool,
            _ => return None,
        })
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::Text => "text",
            Self::Timestamp => "timestamp",
            Self::Bool => "bool",
        })
    }
}

/// A parameter of a saved query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryParam {
    /// Its name (`$name` in the SQL).
    pub name: String,
    /// Its type.
    pub ty: ParamType,
    /// Its default (`NULL` for none).
    pub default: String,
    /// What it does.
    pub description: String,
}

/// What a saved query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// A check `diagnose` runs: every row is evidence of a problem.
    Check,
    /// A report: rows are information.
    Report,
    /// Common table expressions that queries include (`-- with:`), not a query.
    Fragment,
}

/// One saved query.
#[derive(Debug, Clone)]
pub struct SavedQuery {
    /// Unique name.
    pub name: String,
    /// One-line title.
    pub title: String,
    /// Check or report.
    pub kind: QueryKind,
    /// Severity of a hit (checks).
    pub severity: Severity,
    /// Position in the CBA troubleshooting order.
    pub order: u32,
    /// What it finds.
    pub finds: String,
    /// What a hit means.
    pub means: String,
    /// What to check next.
    pub next: String,
    /// Why a finding of this check is not another one (`-- why:`): the codes that decide it, as
    /// a template whose `{servers}`, `{statuses}`, `{win32}` and `{commands}` are filled with
    /// the finding's values ([`crate::diagnose::Finding::why`]).
    pub why: String,
    /// Which requests make up a finding of this check, for its timeline (`-- timeline:`): a
    /// condition over the rows of [`SavedQuery::timeline_from`]. Empty: no timeline.
    pub timeline: String,
    /// The view the timeline counts (`-- timeline_from:`, default `activesync`).
    pub timeline_from: String,
    /// The evidence column whose values narrow the timeline to the finding's own devices,
    /// users, addresses or servers (`-- timeline_by:`; default the first of `device_id`,
    /// `client_ip`, `server`, `user` that the evidence has, when the view has it too).
    pub timeline_by: String,
    /// Parameters (with those of its fragments, once in a [`Catalog`]).
    pub params: Vec<QueryParam>,
    /// The fragments whose common table expressions the SQL uses (`-- with:`, comma-separated).
    pub with: Vec<String>,
    /// The common table expressions of a fragment that a diagnosis computes once and shares
    /// between the checks that include it (`-- shared:`, comma-separated, in the order they
    /// are defined): small results, such as one row per device and server.
    pub shared: Vec<String>,
    /// The SQL (with its fragments' common table expressions, once in a [`Catalog`]).
    pub sql: String,
    /// The whole file.
    pub text: String,
}

/// The items of a comma-separated header value.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn bad(name: &str, msg: impl fmt::Display) -> DataFusionError {
    DataFusionError::Plan(format!("saved query {name}: {msg}"))
}

impl SavedQuery {
    /// Parses a saved query file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut sql_start = text.len();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let t = line.trim_end();
            if let Some(rest) = t.strip_prefix("--") {
                if rest.starts_with("   ") || rest.starts_with("\t") {
                    if let Some(last) = fields.last_mut() {
                        last.1.push(' ');
                        last.1.push_str(rest.trim());
                    }
                } else if let Some((k, v)) = rest.trim().split_once(':') {
                    fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
                offset += line.len();
                continue;
            }
            if t.trim().is_empty() {
                offset += line.len();
                continue;
            }
            sql_start = offset;
            break;
        }
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let name = get("name");
        if name.is_empty() {
            return Err(bad(file, "the header has no `-- name:`"));
        }
        let kind = match get("kind").as_str() {
            "check" => QueryKind::Check,
            "report" | "" => QueryKind::Report,
            "fragment" => QueryKind::Fragment,
            other => return Err(bad(&name, format!("unknown kind `{other}`"))),
        };
        let severity = match get("severity").as_str() {
            "" => Severity::Info,
            s => Severity::parse(s).ok_or_else(|| bad(&name, format!("unknown severity `{s}`")))?,
        };
        let mut params = Vec::new();
        for (k, v) in &fields {
            if k != "param" {
                continue;
            }
            let mut it = v.splitn(4, ' ');
            let (Some(pname), Some(ty), Some(default)) = (it.next(), it.next(), it.next()) else {
                return Err(bad(
                    &name,
                    format!("bad param line `{v}` (name type default description)"),
                ));
            };
            let ty =
                ParamType::parse(ty).ok_or_else(|| bad(&name, format!("unknown type `{ty}`")))?;
            params.push(QueryParam {
                name: pname.to_string(),
                ty,
                default: default.to_string(),
                description: it.next().unwrap_or_default().to_string(),
            });
        }
        let q = Self {
            title: get("title"),
            kind,
            severity,
            order: get("order").parse().unwrap_or(1000),
            finds: get("finds"),
            means: get("means"),
            next: get("next"),
            why: get("why"),
            timeline: get("timeline"),
            timeline_from: match get("timeline_from") {
                v if v.is_empty() => "activesync".to_string(),
                v => v,
            },
            timeline_by: get("timeline_by"),
            params,
            with: list(&get("with")),
            shared: list(&get("shared")),
            sql: text[sql_start..].trim().trim_end_matches(';').to_string(),
            text: text.to_string(),
            name,
        };
        if q.kind == QueryKind::Fragment && !q.with.is_empty() {
            return Err(bad(&q.name, "a fragment cannot use fragments (`-- with:`)"));
        }
        if q.kind != QueryKind::Fragment && !q.shared.is_empty() {
            return Err(bad(
                &q.name,
                "only a fragment shares results (`-- shared:`)",
            ));
        }
        // Every default must bind.
        q.bind(&HashMap::new())?;
        Ok(q)
    }

    /// This query with the common table expressions and parameters of `fragments` (which hold
    /// every fragment it names) in front of its own.
    fn with_fragments(mut self, fragments: &[SavedQuery]) -> Self {
        let mut ctes = Vec::new();
        for name in &self.with {
            let Some(f) = fragments.iter().find(|f| &f.name == name) else {
                continue;
            };
            ctes.push(f.sql.as_str());
            for p in &f.params {
                if !self.params.iter().any(|own| own.name == p.name) {
                    self.params.push(p.clone());
                }
            }
        }
        if ctes.is_empty() {
            return self;
        }
        let body = self.sql.trim_start();
        let own = body
            .split_whitespace()
            .next()
            .filter(|w| w.eq_ignore_ascii_case("with"))
            .map(|w| body[w.len()..].trim_start());
        self.sql = match own {
            Some(rest) => format!("WITH {},\n{rest}", ctes.join(",\n")),
            None => format!("WITH {}\n{body}", ctes.join(",\n")),
        };
        self
    }

    /// Converts `values` (text, as given on a command line) and the defaults into typed
    /// parameter values. Unknown names and unreadable values are errors.
    pub fn bind(&self, values: &HashMap<String, String>) -> Result<ParamValues> {
        for k in values.keys() {
            if !self.params.iter().any(|p| &p.name == k) {
                let known: Vec<_> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(bad(
                    &self.name,
                    format!(
                        "unknown parameter `{k}` (parameters: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        let mut map = HashMap::new();
        for p in &self.params {
            let raw = values.get(&p.name).unwrap_or(&p.default);
            map.insert(p.name.clone(), typed_value(&self.name, p, raw)?);
        }
        Ok(ParamValues::from(map))
    }

    /// Plans the query in `ctx` with `values` bound.
    pub async fn dataframe(
        &self,
        ctx: &SessionContext,
        values: &HashMap<String, String>,
    ) -> Result<DataFrame> {
        let params = self.bind(values)?;
        ctx.sql(&self.sql).await?.with_param_values(params)
    }
}

fn typed_value(query: &str, p: &QueryParam, raw: &str) -> Result<ScalarValue> {
    let null = raw.eq_ignore_ascii_case("null");
    let err = || {
        bad(
            query,
            format!("parameter `{}` must be {}, got `{raw}`", p.name, p.ty),
        )
    };
    Ok(match p.ty {
        ParamType::Int => ScalarValue::Int64(if null {
            None
        } else {
            Some(raw.trim().parse().map_err(|_| err())?)
        }),
        ParamType::Float => ScalarValue::Float64(if null {
            None
        } else {
            Some(raw.trim().parse().map_err(|_| err())?)
        }),
        ParamType::Text => ScalarValue::Utf8(if null { None } else { Some(raw.to_string()) }),
        ParamType::Bool => ScalarValue::Boolean(if null {
            None
        } else {
            Some(match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(err()),
            })
        }),
        ParamType::Timestamp => {
            let v = if null {
                None
            } else {
                let b = raw.trim().as_bytes();
                let days = iis_log::datetime::parse_date_prefix(b).ok_or_else(err)?;
                let ms = match b.len() {
                    10 => 0,
                    _ => {
                        let rest = b.get(11..).ok_or_else(err)?;
                        iis_log::datetime::parse_time(rest).ok_or_else(err)?
                    }
                };
                Some(days as i64 * iis_log::datetime::MS_PER_DAY + ms)
            };
            ScalarValue::TimestampMillisecond(v, Some("UTC".into()))
        }
    })
}

/// A set of saved queries.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    queries: Vec<SavedQuery>,
    fragments: Vec<SavedQuery>,
    /// Queries that name a fragment not added yet.
    waiting: Vec<SavedQuery>,
}

impl Catalog {
    /// The queries bundled with iisql (from `queries/`).
    pub fn bundled() -> Result<Self> {
        let mut c = Self::default();
        for (file, text) in bundled::BUNDLED {
            c.add(SavedQuery::parse(file, text)?)?;
        }
        c.complete()?;
        Ok(c)
    }

    /// The `.sql` files of a folder.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let mut c = Self::default();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| DataFusionError::Execution(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| DataFusionError::Execution(format!("{}: {e}", f.display())))?;
            c.add(SavedQuery::parse(&f.display().to_string(), &text)?)?;
        }
        c.complete()?;
        Ok(c)
    }

    /// An error if a query waits for a fragment that no file defined.
    fn complete(&self) -> Result<()> {
        match self.waiting.first() {
            None => Ok(()),
            Some(q) => {
                let missing: Vec<_> = q
                    .with
                    .iter()
                    .filter(|w| !self.fragments.iter().any(|f| &f.name == *w))
                    .map(String::as_str)
                    .collect();
                Err(bad(
                    &q.name,
                    format!(
                        "uses fragment `{}`, which no file defines",
                        missing.join(", ")
                    ),
                ))
            }
        }
    }

    /// Adds a query or a fragment; names must be unique. A query that names fragments
    /// (`-- with:`) is listed once they have all been added.
    pub fn add(&mut self, q: SavedQuery) -> Result<()> {
        let taken = |v: &[SavedQuery]| v.iter().any(|o| o.name == q.name);
        if taken(&self.queries) || taken(&self.fragments) || taken(&self.waiting) {
            return Err(bad(&q.name, "defined twice"));
        }
        if q.kind == QueryKind::Fragment {
            self.fragments.push(q);
        } else {
            self.waiting.push(q);
        }
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|q| {
                q.with
                    .iter()
                    .all(|w| self.fragments.iter().any(|f| &f.name == w))
            });
        self.waiting = waiting;
        for q in ready {
            let q = q.with_fragments(&self.fragments);
            self.queries.push(q);
        }
        Ok(())
    }

    /// Every query, in name order.
    pub fn list(&self) -> Vec<&SavedQuery> {
        let mut v: Vec<_> = self.queries.iter().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The checks `diagnose` runs, in troubleshooting order.
    pub fn checks(&self) -> Vec<&SavedQuery> {
        let mut v: Vec<_> = self
            .queries
            .iter()
            .filter(|q| q.kind == QueryKind::Check)
            .collect();
        v.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
        v
    }

    /// A query by name, or an error that lists close names.
    pub fn get(&self, name: &str) -> Option<&SavedQuery> {
        self.queries.iter().find(|q| q.name == name)
    }

    /// A fragment by name.
    pub fn fragment(&self, name: &str) -> Option<&SavedQuery> {
        self.fragments.iter().find(|f| f.name == name)
    }

    /// A query by name, or an error naming the known ones.
    pub fn require(&self, name: &str) -> Result<&SavedQuery> {
        self.get(name).ok_or_else(|| {
            DataFusionError::Plan(format!(
                "no saved query named `{name}` (`iisql queries` lists them)"
            ))
        })
    }
}
