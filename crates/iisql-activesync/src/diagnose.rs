//! `diagnose`: runs every check of the catalogue and turns their rows into findings with
//! evidence (counts, affected users, devices and servers, first and last seen, example lines).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;

use crate::catalog::{Catalog, SavedQuery, Severity};
use crate::shared::SharedResults;
use iisql_datasource::scan_log::ScanReport;

/// Most example lines and evidence rows kept per finding.
pub const MAX_EXAMPLES: usize = 3;
/// Most evidence rows kept per finding.
pub const MAX_EVIDENCE_ROWS: usize = 20;

/// One problem found by one check.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The check's name.
    pub check: String,
    /// Its title.
    pub title: String,
    /// How serious.
    pub severity: Severity,
    /// Rows the check returned.
    pub rows: usize,
    /// Requests involved (sum of the `hits` column, or the row count).
    pub hits: u64,
    /// Distinct values of the `user` column (comma lists split).
    pub users: Vec<String>,
    /// Distinct values of the `device_id` column (comma lists split).
    pub devices: Vec<String>,
    /// Distinct servers (the `server` column, comma lists split).
    pub servers: Vec<String>,
    /// Distinct client addresses (the `client_ip` column, comma lists split).
    pub client_ips: Vec<String>,
    /// Earliest `first_seen`.
    pub first_seen: Option<String>,
    /// Latest `last_seen`.
    pub last_seen: Option<String>,
    /// Example lines, `file:line`.
    pub examples: Vec<String>,
    /// The requests of [`Finding::examples`], in the same order, as text (the view's
    /// `request_line`: date and time, server IP, status.substatus, win32 status, method, stem,
    /// port, user, client IP, user agent, query); empty for a check that does not give them.
    pub example_lines: Vec<String>,
    /// The column names of the evidence rows.
    pub columns: Vec<String>,
    /// The first rows, formatted.
    pub evidence: Vec<Vec<String>>,
    /// What a hit means.
    pub means: String,
    /// What to check next.
    pub next: String,
    /// Why this finding and not another: the codes and servers that decided it (the check's
    /// `-- why:` with the finding's values); empty for a check that does not say.
    pub why: String,
}

impl Finding {
    /// How many devices (or, for checks that count no device, users, addresses or servers)
    /// the finding touches: the breadth of its impact.
    pub fn reach(&self) -> usize {
        [
            self.devices.len(),
            self.users.len(),
            self.client_ips.len(),
            self.servers.len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

/// The result of a diagnosis.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    /// Findings, most severe first, in troubleshooting order.
    pub findings: Vec<Finding>,
    /// Names of the checks run.
    pub checks: Vec<String>,
    /// Requests in the logs.
    pub requests: u64,
    /// ActiveSync requests among them.
    pub activesync_requests: u64,
    /// What the scans read and rejected.
    pub scan: ScanReport,
}

impl Diagnosis {
    /// The most severe finding's severity.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

fn column_strings(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<String>>> {
    let opts = FormatOptions::default();
    let mut out = Vec::new();
    for b in batches {
        let Some(c) = b.column_by_name(name) else {
            return Ok(vec![]);
        };
        let f = ArrayFormatter::try_new(c.as_ref(), &opts)?;
        for i in 0..b.num_rows() {
            out.push((!c.is_null(i)).then(|| f.value(i).to_string()));
        }
    }
    Ok(out)
}

fn distinct(values: Vec<Option<String>>, split: bool) -> Vec<String> {
    let mut s = BTreeSet::new();
    for v in values.into_iter().flatten() {
        if split {
            s.extend(
                v.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty()),
            );
        } else {
            s.insert(v);
        }
    }
    s.into_iter().collect()
}

/// `template` (a check's `-- why:`) with `{servers}`, `{statuses}`, `{win32}` and `{commands}`
/// replaced by the distinct values of the evidence's `server`, `statuses` (or `status_full`),
/// `win32` and `commands` columns.
fn why(template: &str, batches: &[RecordBatch]) -> Result<String> {
    if template.is_empty() {
        return Ok(String::new());
    }
    let mut out = template.to_string();
    for (key, columns, separator, none) in [
        ("{servers}", &["server"][..], ",", "every server"),
        (
            "{statuses}",
            &["statuses", "status_full"][..],
            ",",
            "these statuses",
        ),
        ("{win32}", &["win32"][..], ";", "no win32 status"),
        (
            "{commands}",
            &["commands", "command"][..],
            ",",
            "these commands",
        ),
    ] {
        if !out.contains(key) {
            continue;
        }
        let mut values = BTreeSet::new();
        for c in columns {
            for v in column_strings(batches, c)?.into_iter().flatten() {
                values.extend(
                    v.split(separator)
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(str::to_string),
                );
            }
        }
        let text = if values.is_empty() {
            none.to_string()
        } else {
            let all: Vec<String> = values.into_iter().collect();
            let shown = all.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
            if all.len() > 6 {
                format!("{shown} and {} more", all.len() - 6)
            } else {
                shown
            }
        };
        out = out.replace(key, &text);
    }
    Ok(out)
}

async fn count(ctx: &SessionContext, sql: &str) -> Result<u64> {
    let b = ctx.sql(sql).await?.collect().await?;
    let v = column_strings(&b, "n")?;
    Ok(v.first()
        .cloned()
        .flatten()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// What a diagnosis is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Counting the requests of the logs.
    Counting,
    /// Reading the logs into per-request facts ([`crate::facts`]).
    ReadingFacts,
    /// Computing the results that several checks share (a fragment's `-- shared:`
    /// expressions), once for all of them.
    SharedResults,
    /// Running check `index` (from 0) of `of`, named `name`.
    Check {
        /// The check's name.
        name: String,
        /// Its position, from 0.
        index: usize,
        /// How many checks run.
        of: usize,
    },
    /// Every check has run.
    Done,
}

/// Told each [`Stage`] as a diagnosis reaches it.
pub type StageObserver = Arc<dyn Fn(&Stage) + Send + Sync>;

/// How [`diagnose_with`] runs.
#[derive(Clone, Default)]
pub struct DiagnoseOptions {
    /// Run every check over the `activesync` view as registered, reading the logs again for
    /// each, instead of computing the per-request facts once ([`crate::facts`]) first. The
    /// findings are the same; this is the reference the tests compare the facts with.
    pub without_facts: bool,
    /// Told each stage of the run.
    pub observer: Option<StageObserver>,
    /// How the facts are computed.
    pub facts: crate::facts::FactsOptions,
}

impl std::fmt::Debug for DiagnoseOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagnoseOptions")
            .field("without_facts", &self.without_facts)
            .field("observer", &self.observer.is_some())
            .field("facts", &self.facts)
            .finish()
    }
}

impl DiagnoseOptions {
    fn tell(&self, stage: Stage) {
        if let Some(o) = &self.observer {
            o(&stage);
        }
    }
}

/// Runs check `q` (number `index` of `of`) with the parameters of `params` it declares,
/// reading the results it shares with other checks from `shared`; returns its rows.
async fn run_check(
    shared: &SharedResults,
    q: &SavedQuery,
    index: usize,
    of: usize,
    params: &HashMap<String, String>,
    options: &DiagnoseOptions,
) -> Result<Vec<RecordBatch>> {
    options.tell(Stage::Check {
        name: q.name.clone(),
        index,
        of,
    });
    let own: HashMap<String, String> = params
        .iter()
        .filter(|(k, _)| q.params.iter().any(|p| &p.name == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    shared.dataframe(q, &own).await?.collect().await
}

/// Runs every check of `catalog` over the session's `activesync` view (and the
/// [`iis_requests`](crate::activesync::REQUESTS_VIEW) view of the table it reads), computing
/// the view's facts once first ([`diagnose_with`] with default options). `params` apply to
/// every check that has a parameter of that name.
pub async fn diagnose(
    ctx: &SessionContext,
    catalog: &Catalog,
    params: &HashMap<String, String>,
) -> Result<Diagnosis> {
    diagnose_with(ctx, catalog, params, &DiagnoseOptions::default()).await
}

/// [`diagnose`] with `options`. Unless [`DiagnoseOptions::without_facts`] or the session runs its
/// plans elsewhere ([`crate::facts::RemoteExecution`]), the `activesync`
/// view is replaced by one over its facts ([`crate::facts::materialize_activesync`]) for the
/// rest of the session, so that the HTML report and later queries read them too.
pub async fn diagnose_with(
    ctx: &SessionContext,
    catalog: &Catalog,
    params: &HashMap<String, String>,
    options: &DiagnoseOptions,
) -> Result<Diagnosis> {
    // A parameter no check takes is a typing mistake, not something to ignore.
    let checks_list = catalog.checks();
    let mut known: Vec<&str> = checks_list
        .iter()
        .flat_map(|q| q.params.iter().map(|p| p.name.as_str()))
        .collect();
    known.sort_unstable();
    known.dedup();
    if let Some(k) = params.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(DataFusionError::Plan(format!(
            "unknown parameter `{k}`: no check takes it (parameters: {})",
            known.join(", ")
        )));
    }
    let log = iisql_datasource::scan_log(ctx);
    log.reset();
    options.tell(Stage::Counting);
    let requests = count(
        ctx,
        &format!(
            "SELECT count(*) AS n FROM {}",
            crate::activesync::REQUESTS_VIEW
        ),
    )
    .await?;
    let scan = log.snapshot();
    let activesync_requests = if options.without_facts || !crate::facts::executes_locally(ctx) {
        count(ctx, "SELECT count(*) AS n FROM activesync").await?
    } else {
        options.tell(Stage::ReadingFacts);
        crate::facts::materialize_activesync(ctx).await?.rows
    };
    let checks: Vec<String> = checks_list.iter().map(|q| q.name.clone()).collect();
    // Shared results live in this process's memory: a cluster computes them in each check.
    let shared = if options.without_facts || !crate::facts::executes_locally(ctx) {
        SharedResults::default_for(ctx)
    } else {
        options.tell(Stage::SharedResults);
        SharedResults::compute(ctx, catalog, &checks_list, params).await?
    };
    let of = checks_list.len();
    let mut findings = Vec::new();
    for (index, q) in checks_list.into_iter().enumerate() {
        let batches = run_check(&shared, q, index, of, params, options).await?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows == 0 {
            continue;
        }
        let hits = column_strings(&batches, "hits")?
            .into_iter()
            .flatten()
            .filter_map(|h| h.parse::<u64>().ok())
            .sum::<u64>();
        let columns: Vec<String> = batches[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut evidence = Vec::new();
        for c in &columns {
            let vals = column_strings(&batches, c)?;
            for (i, v) in vals.into_iter().take(MAX_EVIDENCE_ROWS).enumerate() {
                if evidence.len() <= i {
                    evidence.push(Vec::new());
                }
                evidence[i].push(v.unwrap_or_default());
            }
        }
        // Examples with their requests, row by row.
        let lines = column_strings(&batches, "example_line")?;
        let examples: Vec<(String, Option<String>)> = column_strings(&batches, "example")?
            .into_iter()
            .enumerate()
            .filter_map(|(i, e)| e.map(|e| (e, lines.get(i).cloned().flatten())))
            .take(MAX_EXAMPLES)
            .collect();
        findings.push(Finding {
            check: q.name.clone(),
            title: q.title.clone(),
            severity: q.severity,
            rows,
            hits: if hits > 0 { hits } else { rows as u64 },
            users: distinct(column_strings(&batches, "user")?, true),
            devices: distinct(column_strings(&batches, "device_id")?, true),
            servers: distinct(column_strings(&batches, "server")?, true),
            client_ips: distinct(column_strings(&batches, "client_ip")?, true),
            first_seen: column_strings(&batches, "first_seen")?
                .into_iter()
                .flatten()
                .min(),
            last_seen: column_strings(&batches, "last_seen")?
                .into_iter()
                .flatten()
                .max(),
            examples: examples.iter().map(|(e, _)| e.clone()).collect(),
            example_lines: examples.into_iter().filter_map(|(_, l)| l).collect(),
            columns,
            evidence,
            means: q.means.clone(),
            next: q.next.clone(),
            why: why(&q.why, &batches)?,
        });
    }
    options.tell(Stage::Done);
    // By impact: most severe first, then those touching the most devices (or users, addresses,
    // servers), then the most requests; the catalogue's troubleshooting order breaks ties.
    findings.sort_by_key(|f| {
        (
            std::cmp::Reverse(f.severity),
            std::cmp::Reverse(f.reach()),
            std::cmp::Reverse(f.hits),
        )
    });
    Ok(Diagnosis {
        findings,
        checks,
        requests,
        activesync_requests,
        scan,
    })
}
