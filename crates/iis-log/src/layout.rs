//! A `#Fields` layout resolved against a table schema: for each column, which field position
//! (if any) holds its value.

use std::collections::HashMap;

use crate::schema::{FieldTarget, field_target};

/// The field layout in force for a run of data lines.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The W3C field names, in order.
    pub names: Vec<String>,
    /// For each schema column, the field position holding its value.
    pub column_pos: Vec<Option<usize>>,
    /// Position of the `date` field.
    pub date_pos: Option<usize>,
    /// Position of the `time` field.
    pub time_pos: Option<usize>,
    /// Fields named more than once (only their first position is read).
    pub duplicates: Vec<String>,
}

impl Layout {
    /// Resolves `names` against the schema's column index (column name -> position in schema).
    /// When a field repeats, its first position is used.
    pub fn new(names: Vec<String>, columns: &HashMap<String, usize>, n_columns: usize) -> Self {
        let mut column_pos = vec![None; n_columns];
        let mut date_pos = None;
        let mut time_pos = None;
        let mut seen = std::collections::HashSet::new();
        let mut duplicates = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let target = field_target(n);
            if !seen.insert(target.clone()) {
                duplicates.push(n.clone());
                continue;
            }
            match target {
                FieldTarget::Date => date_pos = Some(i),
                FieldTarget::Time => time_pos = Some(i),
                FieldTarget::Column(c) => {
                    if let Some(&col) = columns.get(&c) {
                        column_pos[col] = Some(i);
                    }
                }
            }
        }
        Self {
            names,
            column_pos,
            date_pos,
            time_pos,
            duplicates,
        }
    }

    /// Number of fields a data line must have.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the layout has no fields at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
