//! # iisql-functions
//!
//! Scalar functions iisql adds to DataFusion SQL, and the code tables behind them. Each
//! function is a `ScalarUDF`; [`register_functions`] adds them all, with the tables
//! `iis_status_codes` and `win32_errors`, to a `SessionContext`. The crate reads no files: its
//! functions take the columns of the IIS tables (`cs_uri_query`, `sc_status`...) and return
//! values.
//!
//! | function | what it returns |
//! |---|---|
//! | `eas_param(query, name)` | an ActiveSync query parameter, plain or base64 form |
//! | `eas_log(query, key [, n])` | the `n`-th value of `key` in the `Log=` string |
//! | `eas_request(query)` | every field the `activesync` view reads of a query, parsed once, as a struct |
//! | `eas_log_sum(query, key [, part])` | the sum of `key`'s values over the folders (`Srv`, `a`: adds) |
//! | `normalize_user(name)` | `CONTOSO\jdoe`, `jdoe@contoso.com`, `contoso%5Cjdoe` -> `jdoe` |
//! | `is_probe_user(name)` | whether the name is an Exchange health probe's (`HealthMailbox...`, `extest_...`) |
//! | `url_decode(text)` | `%xx` and `+` decoded |
//! | `iis_status_text(status [, substatus])` | what an IIS status means |
//! | `win32_error_text(code)` | what a `sc-win32-status` means |
//!
//! Log Parser's functions, with its semantics ([`logparser`]): `extract_token`,
//! `extract_value`, `extract_prefix`, `extract_suffix`, `extract_filename`, `extract_path`,
//! `extract_extension`, `strcat`, `strcnt`, `strlen`, `strrev`, `strrepeat`, `lp_substr`
//! (Log Parser's 0-based `SUBSTR`), `index_of`, `last_index_of`, `replace_chr`,
//! `replace_str`, `to_lowercase`, `to_uppercase`, `urlescape`, `urlunescape`, `hex_to_int`,
//! `rot13`, `replace_if_not_null`, `win32_error_description`; `reversedns` and `resolve_sid`
//! are refused when a query is planned (they need the network). And ([`numeric`]):
//! `quantize` (numbers, and timestamps by seconds), `qntround_to_digit`, `qntfloor_to_digit`,
//! `to_int`, `to_real`. And ([`lp_time`]): `lp_to_timestamp` (Log Parser's `TO_TIMESTAMP`, three
//! forms), `lp_to_date`, `lp_to_time`, `to_string`, `to_localtime`, `to_utctime`,
//! `system_timestamp`.

pub mod eas_query;
pub mod eas_request;
pub mod logparser;
pub mod lp_time;
pub mod numeric;
pub mod probe_user;
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
    /// Any value, read as its text.
    Any,
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

/// Whether `t` is text (or NULL, which coerces to text).
pub(crate) fn is_text(t: &DataType) -> bool {
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
                Arg::Any => Ok(DataType::Utf8),
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
                    Arg::Any => Column::Text(cast(a, &DataType::Utf8)?),
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

/// Runs `eval` over the arguments as arrays (of one row when every argument is a scalar) with
/// the number of rows; the result is a scalar when every argument was one.
pub(crate) fn eval_arrays(
    args: &[ColumnarValue],
    rows: usize,
    eval: impl FnOnce(&[ArrayRef], usize) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let rows = if all_scalar { 1 } else { rows };
    let arrays: Vec<ArrayRef> = args
        .iter()
        .map(|a| a.to_array(rows))
        .collect::<Result<_>>()?;
    let out = eval(&arrays, rows)?;
    Ok(if all_scalar {
        ColumnarValue::Scalar(datafusion::scalar::ScalarValue::try_from_array(&out, 0)?)
    } else {
        ColumnarValue::Array(out)
    })
}

/// The signature of a function of one text argument, in any of Arrow's string types.
pub(crate) fn one_text_signature() -> Signature {
    Signature::uniform(
        1,
        vec![DataType::Utf8View, DataType::Utf8, DataType::LargeUtf8],
        Volatility::Immutable,
    )
}

/// Calls `f` with each value of the string column `texts` (of any of Arrow's string types),
/// in order; an error naming `function` for a column of another type.
pub(crate) fn for_each_text(
    function: &str,
    texts: &ArrayRef,
    f: impl FnMut(Option<&str>),
) -> Result<()> {
    match texts.data_type() {
        DataType::Utf8View => texts.as_string_view().iter().for_each(f),
        DataType::Utf8 => texts.as_string::<i32>().iter().for_each(f),
        DataType::LargeUtf8 => texts.as_string::<i64>().iter().for_each(f),
        other => {
            return Err(DataFusionError::Plan(format!(
                "{function} takes text, got {other}"
            )));
        }
    }
    Ok(())
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

fn lp_text(v: &[Value<'_>], i: usize) -> Option<String> {
    v.get(i).and_then(|x| x.text()).map(str::to_string)
}

fn extract_token(v: &[Value<'_>]) -> Option<String> {
    let sep = match v.get(2) {
        Some(x) => Some(x.text()?),
        None => None,
    };
    logparser::extract_token(v[0].text()?, v[1].int()?, sep)
}

fn extract_value(v: &[Value<'_>]) -> Option<String> {
    let sep = match v.get(2) {
        Some(x) => Some(x.text()?),
        None => None,
    };
    logparser::extract_value(v[0].text()?, v[1].text()?, sep)
}

fn extract_prefix(v: &[Value<'_>]) -> Option<String> {
    logparser::extract_prefix(v[0].text()?, v[1].int()?, v[2].text()?)
}

fn extract_suffix(v: &[Value<'_>]) -> Option<String> {
    logparser::extract_suffix(v[0].text()?, v[1].int()?, v[2].text()?)
}

fn extract_filename(v: &[Value<'_>]) -> Option<String> {
    Some(logparser::extract_filename(v[0].text()?))
}

fn extract_path(v: &[Value<'_>]) -> Option<String> {
    Some(logparser::extract_path(v[0].text()?))
}

fn extract_extension(v: &[Value<'_>]) -> Option<String> {
    Some(logparser::extract_extension(v[0].text()?))
}

/// NULL reads as empty; NULL only when both are.
fn strcat(v: &[Value<'_>]) -> Option<String> {
    match (v[0].text(), v[1].text()) {
        (None, None) => None,
        (a, b) => Some(format!("{}{}", a.unwrap_or(""), b.unwrap_or(""))),
    }
}

fn strcnt(v: &[Value<'_>]) -> Option<String> {
    logparser::strcnt(v[0].text()?, v[1].text()?).map(|n| n.to_string())
}

fn strlen(v: &[Value<'_>]) -> Option<String> {
    Some(v[0].text()?.chars().count().to_string())
}

fn strrev(v: &[Value<'_>]) -> Option<String> {
    Some(v[0].text()?.chars().rev().collect())
}

fn strrepeat(v: &[Value<'_>]) -> Option<String> {
    logparser::strrepeat(v[0].text()?, v[1].int()?)
}

fn lp_substr(v: &[Value<'_>]) -> Option<String> {
    let len = match v.get(2) {
        Some(x) => Some(x.int()?),
        None => None,
    };
    logparser::substr(v[0].text()?, v[1].int()?, len)
}

fn index_of(v: &[Value<'_>]) -> Option<String> {
    Some(logparser::index_of(v[0].text()?, v[1].text()?).to_string())
}

fn last_index_of(v: &[Value<'_>]) -> Option<String> {
    Some(logparser::last_index_of(v[0].text()?, v[1].text()?).to_string())
}

fn replace_chr(v: &[Value<'_>]) -> Option<String> {
    Some(logparser::replace_chr(
        v[0].text()?,
        v[1].text()?,
        v[2].text()?,
    ))
}

fn replace_str(v: &[Value<'_>]) -> Option<String> {
    Some(logparser::replace_str(
        v[0].text()?,
        v[1].text()?,
        v[2].text()?,
    ))
}

fn to_lowercase(v: &[Value<'_>]) -> Option<String> {
    Some(v[0].text()?.to_lowercase())
}

fn to_uppercase(v: &[Value<'_>]) -> Option<String> {
    Some(v[0].text()?.to_uppercase())
}

fn urlescape(v: &[Value<'_>]) -> Option<String> {
    Some(logparser::urlescape(v[0].text()?))
}

fn hex_to_int(v: &[Value<'_>]) -> Option<String> {
    logparser::hex_to_int(v[0].text()?).map(|n| n.to_string())
}

fn rot13(v: &[Value<'_>]) -> Option<String> {
    Some(logparser::rot13(v[0].text()?))
}

/// `repl` where `arg` is not NULL, NULL where it is.
fn replace_if_not_null(v: &[Value<'_>]) -> Option<String> {
    v[0].text()?;
    lp_text(v, 1)
}

/// A Log Parser function iisql does not offer: refused when the query is planned, never a
/// silent NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Unsupported {
    name: &'static str,
    why: &'static str,
    signature: Signature,
}

impl Unsupported {
    fn udf(name: &'static str, why: &'static str) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            name,
            why,
            signature: Signature::user_defined(Volatility::Volatile),
        })
    }
}

impl ScalarUDFImpl for Unsupported {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn coerce_types(&self, _arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Err(DataFusionError::NotImplemented(format!(
            "{}() is not supported: {}",
            self.name.to_uppercase(),
            self.why
        )))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Err(DataFusionError::NotImplemented(format!(
            "{}() is not supported: {}",
            self.name.to_uppercase(),
            self.why
        )))
    }
}

/// Every scalar function iisql adds.
pub fn all_functions() -> Vec<ScalarUDF> {
    let mut all = row_functions();
    all.push(eas_request::udf());
    all.push(probe_user::udf());
    all.extend(numeric::functions());
    all.extend(lp_time::functions());
    all
}

fn row_functions() -> Vec<ScalarUDF> {
    use Arg::{Any, Int, Text};
    vec![
        RowUdf::udf("eas_param", &[Text, Text], 2, eas_param),
        RowUdf::udf("eas_log", &[Text, Text, Int], 2, eas_log),
        RowUdf::int_udf("eas_log_sum", &[Text, Text, Text], 2, eas_log_sum),
        RowUdf::udf("normalize_user", &[Text], 1, normalize_user),
        RowUdf::udf("url_decode", &[Text], 1, url_decode),
        RowUdf::udf("iis_status_text", &[Int, Int], 1, iis_status_text),
        RowUdf::udf("win32_error_text", &[Int], 1, win32_error_text),
        // Log Parser's functions.
        RowUdf::udf("extract_token", &[Text, Int, Text], 2, extract_token),
        RowUdf::udf("extract_value", &[Text, Text, Text], 2, extract_value),
        RowUdf::udf("extract_prefix", &[Text, Int, Text], 3, extract_prefix),
        RowUdf::udf("extract_suffix", &[Text, Int, Text], 3, extract_suffix),
        RowUdf::udf("extract_filename", &[Text], 1, extract_filename),
        RowUdf::udf("extract_path", &[Text], 1, extract_path),
        RowUdf::udf("extract_extension", &[Text], 1, extract_extension),
        RowUdf::udf("strcat", &[Text, Text], 2, strcat),
        RowUdf::int_udf("strcnt", &[Text, Text], 2, strcnt),
        RowUdf::int_udf("strlen", &[Text], 1, strlen),
        RowUdf::udf("strrev", &[Text], 1, strrev),
        RowUdf::udf("strrepeat", &[Text, Int], 2, strrepeat),
        RowUdf::udf("lp_substr", &[Text, Int, Int], 2, lp_substr),
        RowUdf::int_udf("index_of", &[Text, Text], 2, index_of),
        RowUdf::int_udf("last_index_of", &[Text, Text], 2, last_index_of),
        RowUdf::udf("replace_chr", &[Text, Text, Text], 3, replace_chr),
        RowUdf::udf("replace_str", &[Text, Text, Text], 3, replace_str),
        RowUdf::udf("to_lowercase", &[Text], 1, to_lowercase),
        RowUdf::udf("to_uppercase", &[Text], 1, to_uppercase),
        RowUdf::udf("urlescape", &[Text], 1, urlescape),
        RowUdf::udf("urlunescape", &[Text], 1, url_decode),
        RowUdf::int_udf("hex_to_int", &[Text], 1, hex_to_int),
        RowUdf::udf("rot13", &[Text], 1, rot13),
        RowUdf::udf("replace_if_not_null", &[Any, Text], 2, replace_if_not_null),
        RowUdf::udf("win32_error_description", &[Int], 1, win32_error_text),
        Unsupported::udf(
            "reversedns",
            "it needs a live DNS look-up; join with a table of addresses and names instead",
        ),
        Unsupported::udf(
            "resolve_sid",
            "it needs a Windows domain; join with a table of SIDs and account names instead",
        ),
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
