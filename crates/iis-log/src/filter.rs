//! Conditions on rows that the decoder applies while it builds a batch (late materialisation):
//! the columns the first [`RowFilter`] reads are built for every row, those of the next only
//! for the rows the first keeps, and so on; the rest of the projection only for the rows all
//! of them keep.

use arrow_array::{BooleanArray, RecordBatch};

/// The error a [`RowFilter`] returns.
pub type FilterError = Box<dyn std::error::Error + Send + Sync>;

/// A condition on a batch's rows, applied by the decoder before it builds the other projected
/// columns (a query engine's pushed-down `WHERE`).
pub trait RowFilter: std::fmt::Debug + Send + Sync {
    /// The columns the condition reads: indices into the decoder's schema, ascending and
    /// without repeats.
    fn columns(&self) -> &[usize];

    /// Evaluates the condition over `batch`, which holds the columns of [`Self::columns`] in
    /// that order. One value per row: `true` keeps the row, `false` and NULL drop it.
    fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray, FilterError>;
}
