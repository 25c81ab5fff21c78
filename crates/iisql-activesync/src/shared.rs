//! Results that several checks of a diagnosis share, computed once: the common table
//! expressions a fragment names in `-- shared:` (aggregates such as when each device first
//! succeeded on each server, or the hours a regression holds a server) are collected into
//! memory tables before the checks run, and every check that includes the fragment reads those
//! tables in place of computing the expressions again.
//!
//! A shared expression must be small (a row per device and server, or per server and hour): it
//! is held in memory for the length of the diagnosis. Its rows depend on the values of the
//! fragment's parameters, so checks that bind them differently get copies of their own.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::dataframe::DataFrame;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionState;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{Query, Statement as SqlStatement};

use crate::catalog::{Catalog, SavedQuery};

/// The memory tables of a diagnosis's shared expressions, and which of them each check reads.
/// Dropping it removes the tables from the session.
pub(crate) struct SharedResults {
    ctx: SessionContext,
    /// The tables registered, to remove.
    tables: Vec<String>,
    /// By check name: each shared expression's name with the table that holds its rows.
    by_check: HashMap<String, Vec<(String, String)>>,
}

impl Drop for SharedResults {
    fn drop(&mut self) {
        for table in &self.tables {
            // A table that is gone already needs no removing.
            let _ = self.ctx.deregister_table(table.as_str());
        }
    }
}

/// Prefix of the tables of shared results in a session.
const TABLE_PREFIX: &str = "iisql_shared";

impl SharedResults {
    /// No shared results: every check computes its expressions itself.
    pub(crate) fn default_for(ctx: &SessionContext) -> Self {
        Self {
            ctx: ctx.clone(),
            tables: Vec::new(),
            by_check: HashMap::new(),
        }
    }

    /// Computes the shared expressions of the fragments that `checks` include, once per
    /// fragment and binding of its parameters; `params` are the diagnosis's (each check takes
    /// those it declares).
    pub(crate) async fn compute(
        ctx: &SessionContext,
        catalog: &Catalog,
        checks: &[&SavedQuery],
        params: &HashMap<String, String>,
    ) -> Result<Self> {
        let mut shared = Self::default_for(ctx);
        // By fragment and parameter values: the tables of its expressions.
        let mut computed: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for q in checks {
            for fragment in q.with.iter().filter_map(|f| catalog.fragment(f)) {
                if fragment.shared.is_empty() {
                    continue;
                }
                // In name order: the same values make the same key.
                let values = fragment_values(q, fragment, params);
                let key = format!("{}{values:?}", fragment.name);
                if !computed.contains_key(&key) {
                    let tables = shared.collect(fragment, &values).await?;
                    computed.insert(key.clone(), tables);
                }
                shared
                    .by_check
                    .entry(q.name.clone())
                    .or_default()
                    .extend(computed[&key].iter().cloned());
            }
        }
        Ok(shared)
    }

    /// Collects each shared expression of `fragment` (those before it read from their tables)
    /// into a memory table; returns each expression's name with its table.
    async fn collect(
        &mut self,
        fragment: &SavedQuery,
        values: &BTreeMap<String, String>,
    ) -> Result<Vec<(String, String)>> {
        let bound = fragment.bind(&values.clone().into_iter().collect())?;
        let mut tables: Vec<(String, String)> = Vec::new();
        for name in &fragment.shared {
            let sql = format!("WITH {}\nSELECT * FROM {name}", fragment.sql);
            let df = plan(&self.ctx, &sql, &tables)
                .await?
                .with_param_values(bound.clone())?;
            let schema = Arc::new(df.schema().as_arrow().clone());
            let batches = df.collect().await?;
            let table = format!("{TABLE_PREFIX}_{}_{name}", self.tables.len());
            let memory = MemTable::try_new(schema, vec![batches])?;
            self.ctx.register_table(table.as_str(), Arc::new(memory))?;
            self.tables.push(table.clone());
            tables.push((name.clone(), table));
        }
        Ok(tables)
    }

    /// Check `q` planned with `values` bound, reading the shared expressions it includes from
    /// their tables.
    pub(crate) async fn dataframe(
        &self,
        q: &SavedQuery,
        values: &HashMap<String, String>,
    ) -> Result<DataFrame> {
        match self.by_check.get(&q.name) {
            Some(tables) => plan(&self.ctx, &q.sql, tables)
                .await?
                .with_param_values(q.bind(values)?),
            None => q.dataframe(&self.ctx, values).await,
        }
    }
}

/// The values of `fragment`'s parameters as check `q` binds them: the diagnosis's, or the
/// default `q` declares (its own, or the fragment's).
fn fragment_values(
    q: &SavedQuery,
    fragment: &SavedQuery,
    params: &HashMap<String, String>,
) -> BTreeMap<String, String> {
    fragment
        .params
        .iter()
        .map(|p| {
            let default = q
                .params
                .iter()
                .find(|own| own.name == p.name)
                .map_or(&p.default, |own| &own.default);
            let value = params.get(&p.name).unwrap_or(default);
            (p.name.clone(), value.clone())
        })
        .collect()
}

/// `sql` (a query that starts with `WITH`) planned with each common table expression named in
/// `tables` reading its table instead.
async fn plan(ctx: &SessionContext, sql: &str, tables: &[(String, String)]) -> Result<DataFrame> {
    let state = ctx.state();
    let mut statement = parse(&state, sql)?;
    if !tables.is_empty() {
        let with = query(&mut statement)?.with.as_mut().ok_or_else(|| {
            DataFusionError::Plan("a query with shared results has no WITH".into())
        })?;
        for cte in &mut with.cte_tables {
            let name = &cte.alias.name.value;
            if let Some((_, table)) = tables.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                let mut select = parse(&state, &format!("SELECT * FROM {table}"))?;
                *cte.query = query(&mut select)?.clone();
            }
        }
    }
    let plan = state.statement_to_plan(statement).await?;
    Ok(DataFrame::new(state, plan))
}

fn parse(state: &SessionState, sql: &str) -> Result<Statement> {
    state.sql_to_statement(sql, &state.config().options().sql_parser.dialect)
}

/// The query of a statement that is one.
fn query(statement: &mut Statement) -> Result<&mut Query> {
    match statement {
        Statement::Statement(s) => match s.as_mut() {
            SqlStatement::Query(q) => Ok(q.as_mut()),
            _ => Err(DataFusionError::Plan("a saved query is not a query".into())),
        },
        _ => Err(DataFusionError::Plan("a saved query is not a query".into())),
    }
}
