//! From a query result to what a chart shows: the x axis (time or categories), the series and
//! their values, chosen from the columns' types.
//!
//! - **x**: the first timestamp or date column (a time series); else the first text column
//!   (categories); else, when there are several numeric columns, the first of them; else the
//!   row number.
//! - **values**: every other numeric column, one series each.
//! - **series from a column**: with one value column and another text column besides x, each
//!   value of that column is a series (long format: `hour, outcome, hits` draws one line or
//!   stack per outcome).

use std::collections::HashMap;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::ChartError;

/// Most series drawn; the smallest of the rest are summed into one called `other`.
pub const MAX_SERIES: usize = 10;
/// Most categories drawn as bars or columns; the rest are left out (and the chart says so).
pub const MAX_CATEGORIES: usize = 60;
/// Most slices of a pie; the rest are summed into one called `other`.
pub const MAX_SLICES: usize = 12;
/// Most rows a chart is drawn from: a larger result wants a `GROUP BY` first.
pub const MAX_ROWS: usize = 200_000;

/// The x axis.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Points in time, milliseconds since the Unix epoch (UTC), ascending.
    Time(Vec<i64>),
    /// Named categories, in the result's order.
    Categories(Vec<String>),
}

impl XAxis {
    /// Number of points.
    pub fn len(&self) -> usize {
        match self {
            Self::Time(t) => t.len(),
            Self::Categories(c) => c.len(),
        }
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One series: a value (or none) per x point.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its name, shown in the legend.
    pub name: String,
    /// One value per point of the x axis.
    pub values: Vec<Option<f64>>,
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    /// The x axis's title (a column name).
    pub x_label: String,
    /// The value axis's title.
    pub y_label: String,
    /// The points of the x axis.
    pub x: XAxis,
    /// The series, each with a value per x point.
    pub series: Vec<Series>,
    /// Rows of the result.
    pub rows: usize,
    /// What was left out to keep the chart readable (e.g. "first 60 of 312 categories").
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Time,
    Number,
    Text,
}

fn class(dt: &DataType) -> Class {
    match dt {
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => Class::Time,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => Class::Number,
        DataType::Dictionary(_, v) => class(v),
        _ => Class::Text,
    }
}

fn numbers(a: &ArrayRef) -> Result<Vec<Option<f64>>, ChartError> {
    let f = cast(a, &DataType::Float64)?;
    Ok(f.as_primitive::<Float64Type>().iter().collect())
}

/// Milliseconds since the Unix epoch of a timestamp or date column.
pub fn millis(a: &ArrayRef) -> Result<Vec<Option<i64>>, ChartError> {
    let ms = match a.data_type() {
        DataType::Date32 => cast(&cast(a, &DataType::Date64)?, &DataType::Int64)?,
        DataType::Date64 => cast(a, &DataType::Int64)?,
        DataType::Timestamp(_, tz) => cast(
            &cast(a, &DataType::Timestamp(TimeUnit::Millisecond, tz.clone()))?,
            &DataType::Int64,
        )?,
        DataType::Dictionary(_, v) => return millis(&cast(a, v)?),
        DataType::Null => return Ok(vec![None; a.len()]),
        other => {
            return Err(ChartError::Data(format!(
                "a {other} column is not a point in time"
            )));
        }
    };
    Ok(ms.as_primitive::<Int64Type>().iter().collect())
}

fn texts(a: &ArrayRef) -> Result<Vec<Option<String>>, ChartError> {
    let opts = FormatOptions::default();
    let f = ArrayFormatter::try_new(a.as_ref(), &opts)?;
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| f.value(i).to_string()))
        .collect())
}

/// One column of every batch, concatenated.
fn column(batches: &[RecordBatch], i: usize) -> Result<ArrayRef, ChartError> {
    let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
    Ok(datafusion::arrow::compute::concat(&parts)?)
}

/// A key of the x axis while rows are gathered.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Time(i64),
    Text(String),
}

impl ChartData {
    /// Chooses the axes and series of a query result (see the [module](self) documentation).
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Self, ChartError> {
        let Some(first) = batches.first() else {
            return Err(ChartError::NoRows);
        };
        let schema = first.schema();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows == 0 {
            return Err(ChartError::NoRows);
        }
        if rows > MAX_ROWS {
            return Err(ChartError::Data(format!(
                "{rows} rows are too many to chart (at most {MAX_ROWS}): aggregate them first, e.g. \
                 GROUP BY date_trunc('hour', timestamp) or a LIMIT"
            )));
        }
        let fields = schema.fields();
        let classes: Vec<Class> = fields.iter().map(|f| class(f.data_type())).collect();
        let find = |c: Class| classes.iter().position(|k| *k == c);
        let numeric: Vec<usize> = (0..fields.len())
            .filter(|i| classes[*i] == Class::Number)
            .collect();
        let x_col = find(Class::Time)
            .or_else(|| find(Class::Text))
            .or_else(|| (numeric.len() > 1).then(|| numeric[0]));
        let values: Vec<usize> = numeric
            .iter()
            .copied()
            .filter(|i| Some(*i) != x_col)
            .collect();
        if values.is_empty() {
            let cols: Vec<String> = fields
                .iter()
                .map(|f| format!("{} ({})", f.name(), f.data_type()))
                .collect();
            return Err(ChartError::Data(format!(
                "nothing to measure: a chart needs a numeric column, such as count(*) with a \
                 GROUP BY (the result has {})",
                cols.join(", ")
            )));
        }
        let pivot = (values.len() == 1)
            .then(|| (0..fields.len()).find(|i| Some(*i) != x_col && classes[*i] == Class::Text))
            .flatten();

        // The x key of every row.
        let (x_label, keys) = x_keys(batches, x_col, &classes)?;
        let is_time = x_col.is_some_and(|i| classes[i] == Class::Time);
        let mut notes = Vec::new();
        let skipped = keys.iter().filter(|k| k.is_none()).count();
        if skipped > 0 {
            notes.push(format!(
                "{skipped} row{} without a time left out",
                if skipped == 1 { "" } else { "s" }
            ));
        }

        let (x, series, y_label) = match pivot {
            Some(p) => {
                let (x, series) = pivoted(batches, &keys, values[0], p, is_time, &mut notes)?;
                (x, series, fields[values[0]].name().clone())
            }
            None => side_by_side(batches, &keys, &values, rows, is_time)?,
        };
        if x.is_empty() {
            return Err(ChartError::NoRows);
        }
        Ok(Self {
            x_label,
            y_label,
            x,
            series,
            rows,
            notes,
        })
    }

    /// Puts every `step` from `from` to `to` (milliseconds) on a time axis, with 0 where the
    /// result had no row: an hour without requests shows as an empty column, not as a line
    /// drawn across it. Does nothing to categories, or when that would pass 10,000 points.
    pub fn fill_time(&mut self, from: i64, to: i64, step: i64) {
        let XAxis::Time(t) = &self.x else { return };
        if step <= 0 || to < from || (to - from) / step > 10_000 {
            return;
        }
        let mut grid: Vec<i64> = Vec::new();
        let mut at = from.div_euclid(step) * step;
        while at <= to {
            grid.push(at);
            at += step;
        }
        grid.extend(t.iter().copied());
        grid.sort_unstable();
        grid.dedup();
        let index: HashMap<i64, usize> = t.iter().enumerate().map(|(i, v)| (*v, i)).collect();
        for s in &mut self.series {
            s.values = grid
                .iter()
                .map(|g| match index.get(g) {
                    Some(i) => s.values[*i],
                    None => Some(0.0),
                })
                .collect();
        }
        self.x = XAxis::Time(grid);
    }

    /// Orders the series as `names` lists them; the others follow in their order.
    pub fn order_series(&mut self, names: &[&str]) {
        self.series.sort_by_key(|s| {
            names
                .iter()
                .position(|n| *n == s.name)
                .unwrap_or(names.len())
        });
    }

    /// Keeps the first `max` categories (bars and columns), noting what was left out.
    pub fn truncate_categories(&mut self, max: usize) {
        if let XAxis::Categories(c) = &mut self.x
            && c.len() > max
        {
            self.notes
                .push(format!("first {max} of {} categories shown", c.len()));
            c.truncate(max);
            for s in &mut self.series {
                s.values.truncate(max);
            }
        }
    }

    /// The slices of a pie: the first series, the first `MAX_SLICES - 1` points in order and
    /// the rest summed as `other`; negative and missing values left out.
    pub fn slices(&self) -> Vec<(String, f64)> {
        let Some(s) = self.series.first() else {
            return vec![];
        };
        let labels: Vec<String> = match &self.x {
            XAxis::Categories(c) => c.clone(),
            XAxis::Time(t) => t.iter().map(|ms| super::draw::time_label(*ms, 0)).collect(),
        };
        let mut out: Vec<(String, f64)> = labels
            .into_iter()
            .zip(&s.values)
            .filter_map(|(l, v)| v.filter(|v| *v > 0.0).map(|v| (l, v)))
            .collect();
        if out.len() > MAX_SLICES {
            let rest: f64 = out[MAX_SLICES - 1..].iter().map(|(_, v)| v).sum();
            out.truncate(MAX_SLICES - 1);
            out.push(("other".into(), rest));
        }
        out
    }
}
/// The x axis's label and the key of every row: its time, its text, or its number (`row`
/// when no column is the x axis); `None` for a row without a time.
fn x_keys(
    batches: &[RecordBatch],
    x_col: Option<usize>,
    classes: &[Class],
) -> Result<(String, Vec<Option<Key>>), ChartError> {
    let schema = batches.first().ok_or(ChartError::NoRows)?.schema();
    let fields = schema.fields();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    Ok(match x_col {
        Some(i) if classes[i] == Class::Time => {
            let label = match fields[i].data_type() {
                DataType::Timestamp(_, _) => format!("{} (UTC)", fields[i].name()),
                _ => fields[i].name().clone(),
            };
            let ms = millis(&column(batches, i)?)?;
            (label, ms.into_iter().map(|m| m.map(Key::Time)).collect())
        }
        Some(i) => {
            let t = texts(&column(batches, i)?)?;
            (
                fields[i].name().clone(),
                t.into_iter()
                    .map(|v| Some(Key::Text(v.unwrap_or_else(|| "(null)".into()))))
                    .collect(),
            )
        }
        None => (
            "row".to_string(),
            (1..=rows).map(|r| Some(Key::Text(r.to_string()))).collect(),
        ),
    })
}

/// One value column split into a series per text of the `pivot` column, summed per x and
/// series; series in order of first appearance, times ascending.
fn pivoted(
    batches: &[RecordBatch],
    keys: &[Option<Key>],
    value: usize,
    pivot: usize,
    is_time: bool,
    notes: &mut Vec<String>,
) -> Result<(XAxis, Vec<Series>), ChartError> {
    let v = numbers(&column(batches, value)?)?;
    let names = texts(&column(batches, pivot)?)?;
    // Series in order of first appearance; points summed per (x, series).
    let mut xs: Vec<Key> = Vec::new();
    let mut x_index: HashMap<Key, usize> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut s_index: HashMap<String, usize> = HashMap::new();
    let mut cells: HashMap<(usize, usize), f64> = HashMap::new();
    for ((k, n), val) in keys.iter().zip(names).zip(v) {
        let Some(k) = k else { continue };
        let xi = *x_index.entry(k.clone()).or_insert_with(|| {
            xs.push(k.clone());
            xs.len() - 1
        });
        let n = n.unwrap_or_else(|| "(null)".into());
        let si = *s_index.entry(n.clone()).or_insert_with(|| {
            order.push(n);
            order.len() - 1
        });
        if let Some(val) = val {
            *cells.entry((xi, si)).or_insert(0.0) += val;
        }
    }
    // Time ascending.
    let mut perm: Vec<usize> = (0..xs.len()).collect();
    if is_time {
        perm.sort_by_key(|i| match &xs[*i] {
            Key::Time(t) => *t,
            Key::Text(_) => 0,
        });
    }
    let series: Vec<Series> = order
        .iter()
        .enumerate()
        .map(|(si, name)| Series {
            name: name.clone(),
            values: perm
                .iter()
                .map(|xi| Some(cells.get(&(*xi, si)).copied().unwrap_or(0.0)))
                .collect(),
        })
        .collect();
    let series = fold_small_series(series, perm.len(), notes);
    let x = if is_time {
        XAxis::Time(
            perm.iter()
                .map(|i| match &xs[*i] {
                    Key::Time(t) => *t,
                    Key::Text(_) => 0,
                })
                .collect(),
        )
    } else {
        XAxis::Categories(
            xs.into_iter()
                .map(|k| match k {
                    Key::Text(s) => s,
                    Key::Time(t) => t.to_string(),
                })
                .collect(),
        )
    };
    Ok((x, series))
}

/// Past [`MAX_SERIES`], the smallest series (by total) summed as one `other` series.
fn fold_small_series(
    mut series: Vec<Series>,
    points: usize,
    notes: &mut Vec<String>,
) -> Vec<Series> {
    if series.len() > MAX_SERIES {
        let total = |s: &Series| s.values.iter().flatten().sum::<f64>();
        let mut by_total: Vec<usize> = (0..series.len()).collect();
        by_total.sort_by(|a, b| total(&series[*b]).total_cmp(&total(&series[*a])));
        let keep: Vec<usize> = {
            let mut k = by_total[..MAX_SERIES - 1].to_vec();
            k.sort_unstable();
            k
        };
        let mut other = vec![Some(0.0); points];
        for (i, s) in series.iter().enumerate() {
            if !keep.contains(&i) {
                for (o, v) in other.iter_mut().zip(&s.values) {
                    *o = Some(o.unwrap_or(0.0) + v.unwrap_or(0.0));
                }
            }
        }
        notes.push(format!(
            "{} smallest of {} series summed as `other`",
            series.len() - keep.len(),
            series.len()
        ));
        series = keep
            .into_iter()
            .map(|i| series[i].clone())
            .chain(std::iter::once(Series {
                name: "other".into(),
                values: other,
            }))
            .collect();
    }
    series
}

/// Every value column as its own series over the rows' keys, times ascending.
fn side_by_side(
    batches: &[RecordBatch],
    keys: &[Option<Key>],
    values: &[usize],
    rows: usize,
    is_time: bool,
) -> Result<(XAxis, Vec<Series>, String), ChartError> {
    let schema = batches.first().ok_or(ChartError::NoRows)?.schema();
    let fields = schema.fields();
    let mut cols = Vec::new();
    for i in values {
        cols.push((fields[*i].name().clone(), numbers(&column(batches, *i)?)?));
    }
    let mut perm: Vec<usize> = (0..rows).filter(|r| keys[*r].is_some()).collect();
    if is_time {
        perm.sort_by_key(|r| match &keys[*r] {
            Some(Key::Time(t)) => *t,
            _ => 0,
        });
    }
    let x = if is_time {
        XAxis::Time(
            perm.iter()
                .map(|r| match &keys[*r] {
                    Some(Key::Time(t)) => *t,
                    _ => 0,
                })
                .collect(),
        )
    } else {
        XAxis::Categories(
            perm.iter()
                .map(|r| match &keys[*r] {
                    Some(Key::Text(s)) => s.clone(),
                    _ => String::new(),
                })
                .collect(),
        )
    };
    let y_label = cols
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let series = cols
        .into_iter()
        .map(|(name, v)| Series {
            name,
            values: perm.iter().map(|r| v[*r]).collect(),
        })
        .collect();
    Ok((x, series, y_label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_most_series_the_smallest_are_summed_as_other() {
        // Series `s0`..`s12` of two points, `s<i>` worth i at each: the nine largest stay, in
        // their order, and `s0`..`s3` become `other`.
        let series: Vec<Series> = (0..MAX_SERIES + 3)
            .map(|i| Series {
                name: format!("s{i}"),
                values: vec![Some(i as f64), Some(i as f64)],
            })
            .collect();
        let mut notes = Vec::new();
        let folded = fold_small_series(series, 2, &mut notes);
        let names: Vec<&str> = folded.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "other"
            ]
        );
        assert_eq!(folded[MAX_SERIES - 1].values, [Some(6.0), Some(6.0)]);
        assert_eq!(notes, ["4 smallest of 13 series summed as `other`"]);

        let few: Vec<Series> = folded[..3].to_vec();
        assert_eq!(fold_small_series(few.clone(), 2, &mut notes).len(), 3);
        assert_eq!(notes.len(), 1);
    }
}
