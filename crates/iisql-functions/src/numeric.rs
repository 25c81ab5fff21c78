//! Log Parser's numeric and bucketing functions: `QUANTIZE` (numbers and timestamps),
//! `QNTROUND_TO_DIGIT`, `QNTFLOOR_TO_DIGIT`, `TO_INT`, `TO_REAL`, and `ADD`, `SUB`, `MUL`,
//! `DIV`, `MOD` (with timestamp arithmetic).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use datafusion::arrow::compute::{CastOptions, cast, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    /// `QUANTIZE(x, q)`: `x` floored to a multiple of `q` (for a timestamp, `q` seconds).
    Quantize,
    /// `QNTROUND_TO_DIGIT(x, n)`: `x` rounded to `n` significant digits.
    RoundDigits,
    /// `QNTFLOOR_TO_DIGIT(x, n)`: `x` floored to `n` significant digits.
    FloorDigits,
    /// `TO_INT(x)`: a whole number from a number or text; NULL when it is none.
    ToInt,
    /// `TO_REAL(x)`: a real number from a number or text; NULL when it is none.
    ToReal,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NumericUdf {
    name: &'static str,
    op: Op,
    signature: Signature,
}

fn is_number(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Null)
}

fn is_float(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _)
    )
}

fn unit_per_second(u: &TimeUnit) -> i64 {
    match u {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// `v` to `digits` significant digits, rounded or floored.
fn to_digits(v: f64, digits: i64, floor: bool) -> Option<f64> {
    if digits <= 0 || !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return Some(0.0);
    }
    let exp = v.abs().log10().floor() as i32 - (digits.min(30) as i32) + 1;
    let mag = 10f64.powi(exp);
    let q = v / mag;
    Some(if floor { q.floor() } else { q.round() } * mag)
}

impl NumericUdf {
    fn udf(name: &'static str, op: Op) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            name,
            op,
            signature: Signature::user_defined(Volatility::Immutable),
        })
    }

    fn arity(&self) -> usize {
        match self.op {
            Op::Quantize | Op::RoundDigits | Op::FloorDigits => 2,
            Op::ToInt | Op::ToReal => 1,
        }
    }

    fn err(&self, msg: impl std::fmt::Display) -> DataFusionError {
        DataFusionError::Plan(format!("{}(): {msg}", self.name))
    }
}

impl ScalarUDFImpl for NumericUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match (self.op, args.first()) {
            (Op::ToInt, _) => DataType::Int64,
            (Op::ToReal, _) => DataType::Float64,
            (_, Some(t @ DataType::Timestamp(_, _))) => t.clone(),
            (Op::Quantize, Some(t))
                if !is_float(t) && args.get(1).is_some_and(|q| !is_float(q)) =>
            {
                DataType::Int64
            }
            (Op::RoundDigits | Op::FloorDigits, Some(t)) if !is_float(t) => DataType::Int64,
            _ => DataType::Float64,
        })
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.len() != self.arity() {
            return Err(self.err(format!(
                "takes {} argument(s), got {}",
                self.arity(),
                args.len()
            )));
        }
        match self.op {
            Op::ToInt | Op::ToReal => Ok(args.to_vec()),
            Op::Quantize => {
                let x = match &args[0] {
                    t @ DataType::Timestamp(_, _) => t.clone(),
                    t if is_float(t) => DataType::Float64,
                    t if is_number(t) => DataType::Int64,
                    t => {
                        return Err(self.err(format!("a number or timestamp to quantize, got {t}")));
                    }
                };
                let q = match &args[1] {
                    t if is_float(t) => DataType::Float64,
                    t if is_number(t) => DataType::Int64,
                    t => return Err(self.err(format!("the quantum must be a number, got {t}"))),
                };
                Ok(vec![x, q])
            }
            Op::RoundDigits | Op::FloorDigits => {
                let x = match &args[0] {
                    t if is_float(t) => DataType::Float64,
                    t if is_number(t) => DataType::Int64,
                    t => return Err(self.err(format!("a number, got {t}"))),
                };
                if !args[1].is_integer() && !matches!(args[1], DataType::Null) {
                    return Err(self.err(format!("digits must be an integer, got {}", args[1])));
                }
                Ok(vec![x, DataType::Int64])
            }
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        super::eval_arrays(&args.args, args.number_rows, |a, _| self.eval(a))
    }
}

impl NumericUdf {
    fn eval(&self, a: &[ArrayRef]) -> Result<ArrayRef> {
        let safe = CastOptions {
            safe: true,
            ..Default::default()
        };
        let trimmed = |x: &ArrayRef| -> Result<ArrayRef> {
            // Text is read after trimming spaces, as Log Parser reads `' 12 '`.
            Ok(match x.data_type() {
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
                    let s = cast(x, &DataType::Utf8)?;
                    Arc::new(datafusion::arrow::array::StringArray::from_iter(
                        s.as_string::<i32>().iter().map(|v| v.map(str::trim)),
                    )) as ArrayRef
                }
                _ => Arc::clone(x),
            })
        };
        match self.op {
            Op::ToInt => {
                let x = trimmed(&a[0])?;
                // Text with a fraction reads as its whole part, like a real number.
                let direct = cast_with_options(&x, &DataType::Int64, &safe)?;
                let via_real = cast_with_options(
                    &cast_with_options(&x, &DataType::Float64, &safe)?,
                    &DataType::Int64,
                    &safe,
                )?;
                let (d, r) = (
                    direct.as_primitive::<Int64Type>(),
                    via_real.as_primitive::<Int64Type>(),
                );
                Ok(Arc::new(Int64Array::from_iter((0..d.len()).map(|i| {
                    if !d.is_null(i) {
                        Some(d.value(i))
                    } else {
                        (!r.is_null(i)).then(|| r.value(i))
                    }
                }))))
            }
            Op::ToReal => Ok(cast_with_options(
                &trimmed(&a[0])?,
                &DataType::Float64,
                &safe,
            )?),
            Op::Quantize => match a[0].data_type().clone() {
                ref ts @ DataType::Timestamp(ref unit, _) => {
                    let per = unit_per_second(unit) as f64;
                    let v = cast(&a[0], &DataType::Int64)?;
                    let q = cast(&a[1], &DataType::Float64)?;
                    let (v, q) = (
                        v.as_primitive::<Int64Type>(),
                        q.as_primitive::<Float64Type>(),
                    );
                    let out = Int64Array::from_iter((0..v.len()).map(|i| {
                        if v.is_null(i) || q.is_null(i) {
                            return None;
                        }
                        let step = (q.value(i) * per).round() as i64;
                        (step > 0).then(|| v.value(i).div_euclid(step) * step)
                    }));
                    Ok(cast(&(Arc::new(out) as ArrayRef), ts)?)
                }
                DataType::Int64 if a[1].data_type() == &DataType::Int64 => {
                    let (v, q) = (
                        a[0].as_primitive::<Int64Type>(),
                        a[1].as_primitive::<Int64Type>(),
                    );
                    Ok(Arc::new(Int64Array::from_iter((0..v.len()).map(|i| {
                        if v.is_null(i) || q.is_null(i) || q.value(i) <= 0 {
                            return None;
                        }
                        Some(v.value(i).div_euclid(q.value(i)) * q.value(i))
                    }))))
                }
                _ => {
                    let v = cast(&a[0], &DataType::Float64)?;
                    let q = cast(&a[1], &DataType::Float64)?;
                    let (v, q) = (
                        v.as_primitive::<Float64Type>(),
                        q.as_primitive::<Float64Type>(),
                    );
                    Ok(Arc::new(Float64Array::from_iter((0..v.len()).map(|i| {
                        if v.is_null(i) || q.is_null(i) || q.value(i) <= 0.0 {
                            return None;
                        }
                        Some((v.value(i) / q.value(i)).floor() * q.value(i))
                    }))))
                }
            },
            Op::RoundDigits | Op::FloorDigits => {
                let floor = self.op == Op::FloorDigits;
                let v = cast(&a[0], &DataType::Float64)?;
                let n = a[1].as_primitive::<Int64Type>();
                let v = v.as_primitive::<Float64Type>();
                let vals = (0..v.len()).map(|i| {
                    if v.is_null(i) || n.is_null(i) {
                        None
                    } else {
                        to_digits(v.value(i), n.value(i), floor)
                    }
                });
                if a[0].data_type() == &DataType::Int64 {
                    Ok(Arc::new(Int64Array::from_iter(
                        vals.map(|x| x.map(|f| f as i64)),
                    )))
                } else {
                    Ok(Arc::new(Float64Array::from_iter(vals)))
                }
            }
        }
    }
}

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        NumericUdf::udf("quantize", Op::Quantize),
        NumericUdf::udf("qntround_to_digit", Op::RoundDigits),
        NumericUdf::udf("qntfloor_to_digit", Op::FloorDigits),
        NumericUdf::udf("to_int", Op::ToInt),
        NumericUdf::udf("to_real", Op::ToReal),
    ]
    .into_iter()
    .chain(arithmetic())
    .collect()
}

/// Log Parser's arithmetic functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// 0000-01-01T00:00:00Z and 0001-01-01T00:00:00Z, in milliseconds since 1970 (proleptic
/// Gregorian calendar).
const YEAR_0_MS: i64 = -62_167_219_200_000;
const YEAR_1_MS: i64 = -62_135_596_800_000;

/// `ADD`, `SUB`, `MUL`, `DIV`, `MOD` over numbers (whole numbers stay whole; dividing by zero
/// gives NULL), and `ADD`/`SUB` of a timestamp and seconds or a second timestamp, which
/// counts as the time since 1970-01-01 (a time-only timestamp such as
/// `lp_to_timestamp('01:30', 'hh:mm')` is a duration, as in Log Parser).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ArithUdf {
    name: &'static str,
    op: Arith,
    signature: Signature,
}

impl ArithUdf {
    fn udf(name: &'static str, op: Arith) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            name,
            op,
            signature: Signature::user_defined(Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for ArithUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match &args[0] {
            DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Millisecond, tz.clone()),
            DataType::Int64 if args[1] == DataType::Int64 => DataType::Int64,
            _ => DataType::Float64,
        })
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let bad = || {
            DataFusionError::Plan(format!(
                "{}(): takes two numbers{}; got ({})",
                self.name,
                if matches!(self.op, Arith::Add | Arith::Sub) {
                    ", or a timestamp and seconds or a timestamp"
                } else {
                    ""
                },
                args.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        if args.len() != 2 {
            return Err(bad());
        }
        let num = |t: &DataType| -> Option<DataType> {
            if is_float(t) {
                Some(DataType::Float64)
            } else if is_number(t) {
                Some(DataType::Int64)
            } else {
                None
            }
        };
        match (&args[0], &args[1]) {
            (DataType::Timestamp(_, tz), b) if matches!(self.op, Arith::Add | Arith::Sub) => {
                let a = DataType::Timestamp(TimeUnit::Millisecond, tz.clone());
                let b = match b {
                    DataType::Timestamp(_, z) => {
                        DataType::Timestamp(TimeUnit::Millisecond, z.clone())
                    }
                    other => num(other).map(|_| DataType::Float64).ok_or_else(bad)?,
                };
                Ok(vec![a, b])
            }
            (a, b) => match (num(a), num(b)) {
                (Some(DataType::Int64), Some(DataType::Int64)) => {
                    Ok(vec![DataType::Int64, DataType::Int64])
                }
                (Some(_), Some(_)) => Ok(vec![DataType::Float64, DataType::Float64]),
                _ => Err(bad()),
            },
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let returns = args.return_field.data_type().clone();
        super::eval_arrays(&args.args, args.number_rows, |arrays, _| {
            self.eval(arrays, &returns)
        })
    }
}

impl ArithUdf {
    fn eval(&self, arrays: &[ArrayRef], returns: &DataType) -> Result<ArrayRef> {
        let (a, b) = (&arrays[0], &arrays[1]);
        let out: ArrayRef = match a.data_type() {
            DataType::Timestamp(_, _) => {
                let ms = cast(a, &DataType::Int64)?;
                let ms = ms.as_primitive::<Int64Type>();
                let delta: Int64Array = match b.data_type() {
                    // A timestamp in year 0 (`TIMESTAMP('0000-01-02', 'yyyy-MM-dd')`, Log
                    // Parser's "one day") is the time since 0000-01-01; others count from 1970.
                    DataType::Timestamp(_, _) => cast(b, &DataType::Int64)?
                        .as_primitive::<Int64Type>()
                        .iter()
                        .map(|v| v.map(|v| if v < YEAR_1_MS { v - YEAR_0_MS } else { v }))
                        .collect(),
                    _ => cast(b, &DataType::Float64)?
                        .as_primitive::<Float64Type>()
                        .iter()
                        .map(|s| s.map(|s| (s * 1000.0).round() as i64))
                        .collect(),
                };
                let sign = if self.op == Arith::Sub { -1 } else { 1 };
                let v = Int64Array::from_iter((0..ms.len()).map(|i| {
                    if ms.is_null(i) || delta.is_null(i) {
                        None
                    } else {
                        ms.value(i).checked_add(sign * delta.value(i))
                    }
                }));
                cast(&(Arc::new(v) as ArrayRef), returns)?
            }
            DataType::Int64 => {
                let (x, y) = (a.as_primitive::<Int64Type>(), b.as_primitive::<Int64Type>());
                Arc::new(Int64Array::from_iter((0..x.len()).map(|i| {
                    if x.is_null(i) || y.is_null(i) {
                        return None;
                    }
                    let (p, q) = (x.value(i), y.value(i));
                    match self.op {
                        Arith::Add => p.checked_add(q),
                        Arith::Sub => p.checked_sub(q),
                        Arith::Mul => p.checked_mul(q),
                        Arith::Div => p.checked_div(q),
                        Arith::Mod => p.checked_rem(q),
                    }
                })))
            }
            _ => {
                let x = cast(a, &DataType::Float64)?;
                let y = cast(b, &DataType::Float64)?;
                let (x, y) = (
                    x.as_primitive::<Float64Type>(),
                    y.as_primitive::<Float64Type>(),
                );
                Arc::new(Float64Array::from_iter((0..x.len()).map(|i| {
                    if x.is_null(i) || y.is_null(i) {
                        return None;
                    }
                    let (p, q) = (x.value(i), y.value(i));
                    match self.op {
                        Arith::Add => Some(p + q),
                        Arith::Sub => Some(p - q),
                        Arith::Mul => Some(p * q),
                        Arith::Div => (q != 0.0).then(|| p / q),
                        Arith::Mod => (q != 0.0).then(|| p % q),
                    }
                })))
            }
        };
        Ok(out)
    }
}

/// Log Parser's `ADD`, `SUB`, `MUL`, `DIV` and `MOD`.
pub fn arithmetic() -> Vec<ScalarUDF> {
    vec![
        ArithUdf::udf("add", Arith::Add),
        ArithUdf::udf("sub", Arith::Sub),
        ArithUdf::udf("mul", Arith::Mul),
        ArithUdf::udf("div", Arith::Div),
        ArithUdf::udf("mod", Arith::Mod),
    ]
}
