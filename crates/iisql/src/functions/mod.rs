//! Scalar functions iisql adds to SQL, and the code tables behind them.
//!
//! | function | what it returns |
//! |---|---|
//! | `eas_param(query, name)` | an ActiveSync query parameter, plain or base64 form |
//! | `eas_log(query, key [, n])` | the `n`-th value of `key` in the `Log=` string |
//! | `eas_log_sum(query, key [, part])` | the sum of `key`'s values over the folders (`Srv`, `a`: adds) |
//! | `normalize_user(name)` | `CONTOSO\jdoe`, `jdoe@contoso.com`, `contoso%5Cjdoe` -> `jdoe` |
//! | `url_decode(text)` | `%xx` and `+` decoded |
//! | `iis_status_text(status [, substatus])` | what an IIS status means |
//! | `win32_error_text(code)` | what a `sc-win32-status` means |

pub mod eas_query;
pub mod status_codes;
pub mod win32_errors;

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// The kind of an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Arg {
    Text,
    Int,
}

/// One argument value of one row.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

impl<'a> Value<'a> {
    fn text(self) -> Option<&'a str> {
        match self {
            Value::Text(t) => t,
            Value::Int(_) => None,
        }
    }
    fn int(self) -> Option<i64> {
        match self {
            Value::Int(i) => i,
            Value::Text(_) => None,
        }
    }
}

type RowFn = fn(&[Value<'_>]) -> Option<String>;

/// A text-returning scalar function evaluated row by row.
#[derive(Debug)]
struct RowUdf {
    name: &'static str,
    /// `Utf8`, or `Int64` for a function whose texts are numbers.
    returns: DataType,
    args: &'static [Arg],
    required: usize,
    f: RowFn,
    signature: Signature,
}

// Functions are identified by their (unique) names.
impl PartialEq for RowUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for RowUdf {}
impl std::hash::Hash for RowUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl RowUdf {
    fn new(name: &'static str, args: &'static [Arg], required: usize, f: RowFn) -> Self {
        Self {
            name,
            returns: DataType::Utf8,
            args,
            required,
            f,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn udf(name: &'static str, args: &'static [Arg], required: usize, f: RowFn) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self::new(name, args, required, f))
    }

    /// A function whose results are whole numbers.
    fn int_udf(name: &'static str, args: &'static [Arg], required: usize, f: RowFn) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            returns: DataType::Int64,
            ..Self::new(name, args, required, f)
        })
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
    )
}

fn is_int(t: &DataType) -> bool {
    t.is_integer() || matches!(t, DataType::Null)
}

enum Column {
    Text(ArrayRef),
    Int(Int64Array),
}

impl ScalarUDFImpl for RowUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.returns.clone())
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < self.required || arg_types.len() > self.args.len() {
            return Err(DataFusionError::Plan(format!(
                "{}() takes {} argument(s), got {}",
                self.name,
                if self.required == self.args.len() {
                    self.required.to_string()
                } else {
                    format!("{} to {}", self.required, self.args.len())
                },
                arg_types.len()
            )));
        }
        arg_types
            .iter()
            .zip(self.args)
            .enumerate()
            .map(|(i, (t, a))| match a {
                Arg::Text if is_text(t) => Ok(if matches!(t, DataType::Null) {
                    DataType::Utf8
                } else {
                    t.clone()
                }),
                Arg::Int if is_int(t) => Ok(DataType::Int64),
                _ => Err(DataFusionError::Plan(format!(
                    "{}(): argument {} must be {}, got {t}",
                    self.name,
                    i + 1,
                    if *a == Arg::Text {
                        "text"
                    } else {
                        "an integer"
                    }
                ))),
            })
            .collect()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let n = if all_scalar { 1 } else { rows };
        let cols: Vec<Column> = arrays
            .iter()
            .zip(self.args)
            .map(|(a, k)| -> Result<Column> {
                Ok(match k {
                    Arg::Text => Column::Text(if matches!(a.data_type(), DataType::LargeUtf8) {
                        cast(a, &DataType::Utf8)?
                    } else {
                        Arc::clone(a)
                    }),
                    Arg::Int => Column::Int(
                        cast(a, &DataType::Int64)?
                            .as_primitive::<Int64Type>()
                            .clone(),
                    ),
                })
            })
            .collect::<Result<_>>()?;
        let mut out = StringBuilder::with_capacity(n, n * 16);
        let mut vals: Vec<Value<'_>> = Vec::with_capacity(cols.len());
        for row in 0..n {
            vals.clear();
            for c in &cols {
                vals.push(match c {
                    Column::Text(a) => Value::Text(text_at(a, row)),
                    Column::Int(a) => Value::Int((!a.is_null(row)).then(|| a.value(row))),
                });
            }
            out.append_option((self.f)(&vals));
        }
        let mut arr: ArrayRef = Arc::new(out.finish());
        if self.returns != DataType::Utf8 {
            arr = cast(&arr, &self.returns)?;
        }
        if all_scalar {
            Ok(ColumnarValue::Scalar(
                datafusion::scalar::ScalarValue::try_from_array(&arr, 0)?,
            ))
        } else {
            Ok(ColumnarValue::Array(arr))
        }
    }
}

fn text_at(a: &ArrayRef, row: usize) -> Option<&str> {
    if a.is_null(row) {
        return None;
    }
    match a.data_type() {
        DataType::Utf8View => Some(a.as_string_view().value(row)),
        DataType::Utf8 => Some(a.as_string::<i32>().value(row)),
        _ => None,
    }
}

fn eas_param(v: &[Value<'_>]) -> Option<String> {
    eas_query::param(v[0].text()?, v[1].text()?)
}

fn eas_log(v: &[Value<'_>]) -> Option<String> {
    let n = match v.get(2) {
        Some(x) => usize::try_from(x.int()?).ok()?,
        None => 0,
    };
    eas_query::log_value(v[0].text()?, v[1].text()?, n)
}

fn eas_log_sum(v: &[Value<'_>]) -> Option<String> {
    let part = v.get(2).and_then(|p| p.text());
    eas_query::log_sum(v[0].text()?, v[1].text()?, part).map(|n| n.to_string())
}

fn normalize_user(v: &[Value<'_>]) -> Option<String> {
    eas_query::normalize_user(v[0].text()?)
}

fn url_decode(v: &[Value<'_>]) -> Option<String> {
    Some(eas_query::url_decode(v[0].text()?))
}

fn iis_status_text(v: &[Value<'_>]) -> Option<String> {
    let sub = v.get(1).and_then(|x| x.int());
    status_codes::status_text(v[0].int()?, sub).map(str::to_string)
}

fn win32_error_text(v: &[Value<'_>]) -> Option<String> {
    Some(win32_errors::win32_text(v[0].int()?))
}

/// Every scalar function iisql adds.
pub fn all_functions() -> Vec<ScalarUDF> {
    use Arg::{Int, Text};
    vec![
        RowUdf::udf("eas_param", &[Text, Text], 2, eas_param),
        RowUdf::udf("eas_log", &[Text, Text, Int], 2, eas_log),
        RowUdf::int_udf("eas_log_sum", &[Text, Text, Text], 2, eas_log_sum),
        RowUdf::udf("normalize_user", &[Text], 1, normalize_user),
        RowUdf::udf("url_decode", &[Text], 1, url_decode),
        RowUdf::udf("iis_status_text", &[Int, Int], 1, iis_status_text),
        RowUdf::udf("win32_error_text", &[Int], 1, win32_error_text),
    ]
}

/// Registers the functions and the code tables `iis_status_codes` and `win32_errors`.
pub fn register_functions(ctx: &SessionContext) -> Result<()> {
    for f in all_functions() {
        ctx.register_udf(f);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("sc_status", DataType::Int32, false),
        Field::new("sc_substatus", DataType::Int32, true),
        Field::new("text", DataType::Utf8, false),
    ]));
    let t = &status_codes::IIS_STATUS_CODES;
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(datafusion::arrow::array::Int32Array::from_iter_values(
                t.iter().map(|r| r.0),
            )),
            Arc::new(datafusion::arrow::array::Int32Array::from_iter(
                t.iter().map(|r| (r.1 >= 0).then_some(r.1)),
            )),
            Arc::new(StringArray::from_iter_values(t.iter().map(|r| r.2))),
        ],
    )?;
    ctx.deregister_table("iis_status_codes")?;
    ctx.register_table(
        "iis_status_codes",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("sc_win32_status", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
    ]));
    let t = &win32_errors::WIN32_ERRORS;
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from_iter_values(t.iter().map(|r| r.0 as i64))),
            Arc::new(StringArray::from_iter_values(t.iter().map(|r| r.1))),
            Arc::new(StringArray::from_iter_values(t.iter().map(|r| r.2))),
        ],
    )?;
    ctx.deregister_table("win32_errors")?;
    ctx.register_table(
        "win32_errors",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    Ok(())
}
