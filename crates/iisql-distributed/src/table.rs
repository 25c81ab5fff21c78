//! [`LogTable`]: an IIS log table in a form a Ballista plan can carry, and the helpers that put
//! a session's tables in that form.
//!
//! DataFusion's plan serializer writes a `ListingTable` only for the formats it knows
//! (Parquet, CSV, JSON, Avro, Arrow) and refuses the others before any extension codec is
//! asked. A [`LogTable`] reads exactly like the `ListingTable` it holds, but is not one, so the
//! serializer hands it to [`IisqlLogicalCodec`](crate::IisqlLogicalCodec).

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{
    CatalogProviderList, DynamicFileCatalog, ScanArgs, ScanResult, Session, TableProvider,
    UrlTableFactory,
};
use datafusion::common::{Constraints, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::dynamic_file::DynamicListTableFactory;
use datafusion::datasource::listing::ListingTable;
use datafusion::error::Result;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use iisql::{IisW3cFormat, IisW3cOptions};

/// An IIS log table: a `ListingTable` over an iisql format, wrapped so that Ballista can send
/// it to a scheduler. Every call goes to the `ListingTable`.
#[derive(Debug)]
pub struct LogTable {
    listing: Arc<ListingTable>,
}

impl LogTable {
    /// `provider` wrapped, when it is a `ListingTable` reading an iisql format; `None` for any
    /// other table.
    pub fn wrap(provider: &Arc<dyn TableProvider>) -> Option<Self> {
        let provider = Arc::clone(provider);
        let any: Arc<dyn std::any::Any + Send + Sync> = provider;
        let listing = any.downcast::<ListingTable>().ok()?;
        listing.options().format.downcast_ref::<IisW3cFormat>()?;
        Some(Self { listing })
    }

    /// The `ListingTable` read.
    pub fn listing(&self) -> &ListingTable {
        &self.listing
    }

    /// The options the files are read with (the format detected for `'x.log'` tables).
    pub fn options(&self) -> IisW3cOptions {
        self.format().map_or_else(IisW3cOptions::default, |f| {
            f.options().clone().with_format(f.log_format())
        })
    }

    fn format(&self) -> Option<&IisW3cFormat> {
        self.listing.options().format.downcast_ref::<IisW3cFormat>()
    }
}

#[async_trait]
impl TableProvider for LogTable {
    fn schema(&self) -> SchemaRef {
        self.listing.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.listing.constraints()
    }

    fn table_type(&self) -> TableType {
        self.listing.table_type()
    }

    fn get_logical_plan(&'_ self) -> Option<Cow<'_, LogicalPlan>> {
        self.listing.get_logical_plan()
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.listing.get_column_default(column)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.listing.scan(state, projection, filters, limit).await
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> Result<ScanResult> {
        self.listing.scan_with_args(state, args).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.listing.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.listing.statistics()
    }
}

/// Replaces every IIS log table registered in `ctx` (in every catalog and schema) by its
/// [`LogTable`], and returns their names. Call it after registering the tables
/// ([`iisql::register_detected`], [`iisql::register_logs`], `CREATE EXTERNAL TABLE`) and
/// before creating views over them: a view keeps the table it was created over.
pub async fn distribute_tables(ctx: &SessionContext) -> Result<Vec<String>> {
    let mut wrapped = Vec::new();
    for catalog_name in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog_name) else {
            continue;
        };
        for schema_name in catalog.schema_names() {
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            for name in schema.table_names() {
                let Some(table) = schema.table(&name).await? else {
                    continue;
                };
                if let Some(log_table) = LogTable::wrap(&table) {
                    schema.deregister_table(&name)?;
                    schema.register_table(name.clone(), Arc::new(log_table))?;
                    wrapped.push(name);
                }
            }
        }
    }
    wrapped.sort();
    Ok(wrapped)
}

/// Makes `SELECT * FROM 'dir/*.log'` read IIS logs as [`LogTable`]s, so that such queries run on
/// a cluster too (DataFusion's own URL tables are `ListingTable`s). Returns the new context.
pub fn enable_log_url_tables(ctx: SessionContext) -> SessionContext {
    let current: Arc<dyn CatalogProviderList> = Arc::clone(ctx.state_ref().read().catalog_list());
    let listing = Arc::new(DynamicListTableFactory::default());
    let factory = Arc::new(LogUrlTables {
        listing: Arc::clone(&listing),
    });
    let catalog_list = Arc::new(DynamicFileCatalog::new(
        current,
        factory as Arc<dyn UrlTableFactory>,
    ));
    let session_id = ctx.session_id();
    let ctx: SessionContext = ctx
        .into_state_builder()
        .with_session_id(session_id)
        .with_catalog_list(catalog_list)
        .build()
        .into();
    listing.session_store().with_state(ctx.state_weak_ref());
    ctx
}

/// DataFusion's URL tables, with IIS log tables wrapped.
#[derive(Debug)]
struct LogUrlTables {
    listing: Arc<DynamicListTableFactory>,
}

#[async_trait]
impl UrlTableFactory for LogUrlTables {
    async fn try_new(&self, url: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(self
            .listing
            .try_new(url)
            .await?
            .map(|table| match LogTable::wrap(&table) {
                Some(log_table) => Arc::new(log_table) as Arc<dyn TableProvider>,
                None => table,
            }))
    }
}
