//! A query's `WHERE`, evaluated inside the scan: DataFusion pushes a `FilterExec`'s conditions
//! into [`IisW3cSource`](crate::IisW3cSource), which takes those over file columns and hands
//! each `AND`ed condition to the decoder as a [`RowFilter`] of its own, those on numbers and
//! times first. The decoder builds the columns of the first condition for every row, those of
//! the next only for the rows the first kept, and so on; the rest of the projection only for
//! the rows all of them keep.
//!
//! The test of an ActiveSync request, `starts_with(lower(cs_uri_stem), '/microsoft-...')` (or
//! `lower(..) LIKE '/microsoft-...%'`), is evaluated on the values as they are: an ASCII prefix
//! compared without case, `lower` computed only for a value with non-ASCII bytes in that prefix.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::physical_expr::expressions::{
    CastExpr, Column, DynamicFilterPhysicalExpr, LikeExpr, Literal,
};
use datafusion::physical_expr::utils::{collect_columns, reassign_expr_columns};
use datafusion::physical_expr::{ScalarFunctionExpr, split_conjunction};
use datafusion::physical_expr_common::physical_expr::is_volatile;
use datafusion::physical_plan::PhysicalExpr;
use iis_log::{FilterError, RowFilter};

/// Whether the scan can apply `filter` (over the table schema) exactly: it reads file columns
/// only (not hive partition columns, which the listing already prunes by), gives the same
/// answer each time it is evaluated, and is not a dynamic filter (which joins and top-k sorts
/// update while they run).
pub(crate) fn pushable(filter: &Arc<dyn PhysicalExpr>, file_schema: &Schema) -> bool {
    if is_volatile(filter) {
        return false;
    }
    let mut ok = true;
    let walk = filter.apply(|e| {
        if e.downcast_ref::<DynamicFilterPhysicalExpr>().is_some() {
            ok = false;
        } else if let Some(c) = e.downcast_ref::<Column>() {
            let matches = file_schema
                .fields()
                .get(c.index())
                .is_some_and(|f| f.name() == c.name());
            ok &= matches;
        }
        Ok(if ok {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    ok && walk.is_ok()
}

/// One `AND`ed condition of a pushed-down predicate as the decoder's [`RowFilter`]: the file
/// columns it reads and the condition rewritten over just those columns.
#[derive(Debug)]
pub(crate) struct ScanFilter {
    columns: Vec<usize>,
    condition: Condition,
    /// Whether a column it reads is text (built from views of every value, where a number
    /// column is parsed into a compact array).
    reads_text: bool,
}

/// The test a [`ScanFilter`] applies.
#[derive(Debug)]
enum Condition {
    /// `starts_with(lower(column), prefix)` for a lowercase ASCII `prefix`: the column's index
    /// in the filter's batch.
    LowerPrefix {
        column: usize,
        prefix: LowerAsciiPrefix,
    },
    /// Any other condition, evaluated by DataFusion.
    Expr(Arc<dyn PhysicalExpr>),
}

impl Condition {
    fn of(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Self {
        match lower_prefix(expr, schema) {
            Some((column, prefix)) => Condition::LowerPrefix {
                column,
                prefix: LowerAsciiPrefix::new(prefix),
            },
            None => Condition::Expr(Arc::clone(expr)),
        }
    }

    fn evaluate(&self, batch: &RecordBatch) -> std::result::Result<BooleanArray, FilterError> {
        match self {
            Condition::LowerPrefix { column, prefix } => {
                let values = batch.column(*column).as_string_view();
                // A null's slot holds an empty value, which the prefix does not begin; the
                // nulls stay nulls.
                let kept =
                    BooleanBuffer::collect_bool(values.len(), |i| prefix.starts(values.value(i)));
                Ok(BooleanArray::new(kept, values.nulls().cloned()))
            }
            Condition::Expr(e) => {
                let values = e.evaluate(batch)?.into_array(batch.num_rows())?;
                match values.as_any().downcast_ref::<BooleanArray>() {
                    Some(b) => Ok(b.clone()),
                    None => Err(format!(
                        "the condition {e} gives {} values, not booleans",
                        values.data_type()
                    )
                    .into()),
                }
            }
        }
    }
}

/// A lowercase ASCII prefix that the start of a value is compared with, without case.
#[derive(Debug)]
struct LowerAsciiPrefix {
    bytes: Vec<u8>,
    /// 0x20 where `bytes` holds a letter: a value's byte matches when, with this bit set, it
    /// equals the prefix's (so `A` matches `a`, and `/` only `/`).
    case: Vec<u8>,
}

impl LowerAsciiPrefix {
    fn new(bytes: Vec<u8>) -> Self {
        let case = bytes
            .iter()
            .map(|b| if b.is_ascii_lowercase() { 0x20 } else { 0 })
            .collect();
        Self { bytes, case }
    }

    /// Whether `lower(value)` starts with the prefix. The value's first bytes are compared
    /// eight at a time; when they differ and are not all ASCII, a character such as the Kelvin
    /// sign (lowered to `k`) could lower into the prefix, so the value is lowered whole.
    fn starts(&self, value: &str) -> bool {
        let n = self.bytes.len();
        let head = &value.as_bytes()[..value.len().min(n)];
        if head.len() == n && self.same_without_case(head) {
            return true;
        }
        !head.is_ascii() && value.to_lowercase().as_bytes().starts_with(&self.bytes)
    }

    /// `head` (as long as the prefix) matches it, letters in either case.
    fn same_without_case(&self, head: &[u8]) -> bool {
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        let mut diff = 0u64;
        let (h, c, p) = (
            head.chunks_exact(8),
            self.case.chunks_exact(8),
            self.bytes.chunks_exact(8),
        );
        let tails = (h.remainder(), c.remainder(), p.remainder());
        for ((h, c), p) in h.zip(c).zip(p) {
            diff |= (word(h) | word(c)) ^ word(p);
        }
        for ((h, c), p) in tails.0.iter().zip(tails.1).zip(tails.2) {
            diff |= u64::from((h | c) ^ p);
        }
        diff == 0
    }
}

/// The column (index in `schema`) and prefix of `starts_with(lower(col), 'p')` or
/// `lower(col) LIKE 'p%'` over a `Utf8View` column, with `p` lowercase ASCII and (for `LIKE`)
/// without wildcards or escapes.
fn lower_prefix(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<(usize, Vec<u8>)> {
    let (lowered, prefix) = if let Some(f) = expr.downcast_ref::<ScalarFunctionExpr>() {
        match (f.name(), f.args()) {
            ("starts_with", [a, p]) => (a, text_literal(p)?),
            _ => return None,
        }
    } else if let Some(like) = expr.downcast_ref::<LikeExpr>() {
        if like.negated() || like.case_insensitive() {
            return None;
        }
        let pattern = text_literal(like.pattern())?;
        let prefix = pattern.strip_suffix('%')?;
        if prefix.contains(['%', '_', '\\']) {
            return None;
        }
        (like.expr(), prefix.to_string())
    } else {
        return None;
    };
    let lower = lowered.downcast_ref::<ScalarFunctionExpr>()?;
    let [arg] = lower.args() else {
        return None;
    };
    let column = arg.downcast_ref::<Column>()?;
    let usable = lower.name() == "lower"
        && schema.fields().get(column.index())?.data_type() == &DataType::Utf8View
        && prefix.is_ascii()
        && !prefix.bytes().any(|b| b.is_ascii_uppercase());
    usable.then(|| (column.index(), prefix.into_bytes()))
}

/// The text of a string literal (or of one cast to another string type).
fn text_literal(expr: &Arc<dyn PhysicalExpr>) -> Option<String> {
    if let Some(cast) = expr.downcast_ref::<CastExpr>() {
        let to_text = matches!(
            cast.cast_type(),
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
        );
        return if to_text {
            text_literal(cast.expr())
        } else {
            None
        };
    }
    match expr.downcast_ref::<Literal>()?.value() {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The decoder's filters for `predicate`, an expression over the table schema whose columns
/// are all file columns (see [`pushable`]) of `file_schema`: one per `AND`ed condition, those
/// reading numbers and times only first, then the prefix tests, then the other conditions on
/// text, each group in the query's order.
pub(crate) fn scan_filters(
    predicate: &Arc<dyn PhysicalExpr>,
    file_schema: &Schema,
) -> Result<Vec<ScanFilter>> {
    let mut filters = split_conjunction(predicate)
        .into_iter()
        .map(|c| ScanFilter::new(c, file_schema))
        .collect::<Result<Vec<_>>>()?;
    filters.sort_by_key(|f| {
        let prefix = matches!(f.condition, Condition::LowerPrefix { .. });
        (f.reads_text, !prefix)
    });
    Ok(filters)
}

impl ScanFilter {
    /// The filter for `condition` (not split further), over the table schema.
    fn new(condition: &Arc<dyn PhysicalExpr>, file_schema: &Schema) -> Result<Self> {
        let mut columns: Vec<usize> = collect_columns(condition)
            .iter()
            .map(Column::index)
            .collect();
        columns.sort_unstable();
        columns.dedup();
        let schema = file_schema.project(&columns)?;
        let reads_text = schema.fields().iter().any(|f| {
            matches!(
                f.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            )
        });
        let condition = reassign_expr_columns(Arc::clone(condition), &schema)?;
        Ok(Self {
            columns,
            condition: Condition::of(&condition, &schema),
            reads_text,
        })
    }
}

impl RowFilter for ScanFilter {
    fn columns(&self) -> &[usize] {
        &self.columns
    }

    fn evaluate(&self, batch: &RecordBatch) -> std::result::Result<BooleanArray, FilterError> {
        self.condition.evaluate(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;
    use datafusion::common::DFSchema;
    use datafusion::functions::expr_fn::{lower, starts_with, upper};
    use datafusion::prelude::{SessionContext, col, lit};

    fn starts_with_lower(value: &str, prefix: &[u8]) -> bool {
        LowerAsciiPrefix::new(prefix.to_vec()).starts(value)
    }

    #[test]
    fn lowered_prefixes() {
        assert!(starts_with_lower(
            "/Microsoft-Server-ActiveSync/x",
            b"/microsoft-server-activesync"
        ));
        assert!(starts_with_lower(
            "/MICROSOFT-SERVER-ACTIVESYNC",
            b"/microsoft-server-activesync"
        ));
        assert!(!starts_with_lower("/Microsoft", b"/microsoft-server"));
        assert!(starts_with_lower("/\u{212A}ey", b"/key"));
        assert!(starts_with_lower("/\u{130}x", b"/i"));
        assert!(!starts_with_lower("/\u{e9}", b"/e"));
        assert!(starts_with_lower("", b""));
        // Only letters match in either case: `\x0f` with the 0x20 bit is `/`, `\r` is `-`.
        assert!(!starts_with_lower("\x0fowa", b"/owa"));
        assert!(!starts_with_lower("/a\rb", b"/a-b"));
        assert!(!starts_with_lower(
            "/microsoft-server-activesynC",
            b"/microsoft-server-activesyn_"
        ));
        // Every position of a long prefix counts, in the words and in the tail.
        let prefix = b"/microsoft-server-activesync";
        for i in 0..prefix.len() {
            let mut v = prefix.to_vec();
            v[i] = b'#';
            assert!(
                !starts_with_lower(std::str::from_utf8(&v).unwrap(), prefix),
                "{i}"
            );
            let mut v = prefix.to_vec();
            v[i] = v[i].to_ascii_uppercase();
            assert!(
                starts_with_lower(std::str::from_utf8(&v).unwrap(), prefix),
                "{i}"
            );
        }
    }

    #[test]
    fn a_prefix_test_keeps_nulls_null() {
        use datafusion::arrow::array::StringViewArray;
        let values = StringViewArray::from(vec![
            Some("/Microsoft-Server-ActiveSync/default.eas"),
            None,
            Some("/owa/"),
            Some("/microsoft-server-activesync"),
            Some(""),
        ]);
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8View, true)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(values)]).unwrap();
        let condition = Condition::LowerPrefix {
            column: 0,
            prefix: LowerAsciiPrefix::new(b"/microsoft-server-activesync".to_vec()),
        };
        let kept: Vec<Option<bool>> = condition.evaluate(&batch).unwrap().iter().collect();
        assert_eq!(
            kept,
            vec![Some(true), None, Some(false), Some(true), Some(false)]
        );
    }

    fn filters_of(e: datafusion::prelude::Expr) -> Vec<ScanFilter> {
        let schema = Schema::new(vec![
            Field::new("n", DataType::Int32, true),
            Field::new("s", DataType::Utf8View, true),
            Field::new("t", DataType::Utf8View, true),
        ]);
        let df = DFSchema::try_from(schema.clone()).unwrap();
        let p = SessionContext::new().create_physical_expr(e, &df).unwrap();
        scan_filters(&p, &schema).unwrap()
    }

    #[test]
    fn the_activesync_test_is_read_as_a_prefix() {
        let f = filters_of(
            starts_with(lower(col("s")), lit("/microsoft-server-activesync"))
                .and(col("n").eq(lit(1))),
        );
        // The number first, then the prefix (column 0 of its own batch: `s` alone).
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            (f[0].columns.as_slice(), f[1].columns.as_slice()),
            (&[0][..], &[1][..])
        );
        assert!(matches!(&f[0].condition, Condition::Expr(_)));
        assert!(matches!(
            &f[1].condition,
            Condition::LowerPrefix { column: 0, prefix }
                if prefix.bytes == b"/microsoft-server-activesync"
        ));
        let like = filters_of(lower(col("s")).like(lit("/owa%")));
        assert!(
            matches!(
                &like[..],
                [ScanFilter {
                    condition: Condition::LowerPrefix { .. },
                    ..
                }]
            ),
            "{like:?}"
        );
        // Not a lowercase prefix, a wildcard inside, or upper(): evaluated by DataFusion.
        for e in [
            starts_with(lower(col("s")), lit("/OWA")),
            lower(col("s")).like(lit("/o_a%")),
            starts_with(upper(col("s")), lit("/OWA")),
            col("s").like(lit("/owa%")),
        ] {
            let f = filters_of(e);
            assert!(
                matches!(
                    &f[..],
                    [ScanFilter {
                        condition: Condition::Expr(_),
                        ..
                    }]
                ),
                "{f:?}"
            );
        }
    }

    #[test]
    fn conditions_on_numbers_come_first_then_prefixes_then_other_text() {
        let f = filters_of(
            col("t")
                .eq(lit("x"))
                .and(starts_with(lower(col("s")), lit("/owa")))
                .and(col("n").gt(lit(3)).or(col("s").eq(lit("y"))))
                .and(col("n").lt(lit(9))),
        );
        let columns: Vec<&[usize]> = f.iter().map(|f| f.columns.as_slice()).collect();
        assert_eq!(columns, [&[0][..], &[1], &[2], &[0, 1]], "{f:?}");
        assert!(matches!(f[1].condition, Condition::LowerPrefix { .. }));
    }
}
