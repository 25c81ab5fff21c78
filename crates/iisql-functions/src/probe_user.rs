//! `is_probe_user(name)`: whether a user name is one of Exchange's own health probes, the
//! `HealthMailbox...` and `extest_...` accounts of Managed Availability, once made comparable
//! ([`normalize_user`](super::eas_query::normalize_user)). The `activesync` view asks it of the logged user and of the user in
//! the query string, for every request: one call each, where four `starts_with` over
//! `normalize_user` made the text of the name four times.

use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::scalar::ScalarValue;

use super::eas_query::with_account;

/// The function's name.
pub const NAME: &str = "is_probe_user";

/// The beginnings of the probes' names, as [`normalize_user`](super::eas_query::normalize_user) writes them.
pub const PROBE_PREFIXES: [&str; 2] = ["healthmailbox", "extest_"];

/// Whether `name` is a probe's: [`normalize_user`](super::eas_query::normalize_user) of it starts with one of
/// [`PROBE_PREFIXES`]. A missing or empty name is not.
pub fn is_probe_user(name: &str) -> bool {
    with_account(name, |account| {
        Some(if account.is_ascii() {
            PROBE_PREFIXES.iter().any(|p| {
                account
                    .get(..p.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(p))
            })
        } else {
            let lower = account.to_lowercase();
            PROBE_PREFIXES.iter().any(|p| lower.starts_with(p))
        })
    })
    .unwrap_or(false)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct IsProbeUser {
    signature: Signature,
}

/// The `is_probe_user` function: `NULL` for a `NULL` name.
pub fn udf() -> ScalarUDF {
    ScalarUDF::from(IsProbeUser {
        signature: crate::one_text_signature(),
    })
}

impl ScalarUDFImpl for IsProbeUser {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = matches!(args.args.first(), Some(ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(names) = arrays.first() else {
            return Err(DataFusionError::Plan(format!("{NAME} takes a user name")));
        };
        let mut out = BooleanBuilder::with_capacity(names.len());
        crate::for_each_text(NAME, names, |n| out.append_option(n.map(is_probe_user)))?;
        let out = out.finish();
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::eas_query::normalize_user;
    use super::*;

    #[test]
    fn probes_in_every_spelling() {
        for name in [
            "HealthMailbox0f1e2d3c4b5a",
            "CONTOSO\\HealthMailboxABC",
            "healthmailbox1@contoso.com",
            "contoso%5Cextest_9f8e7d",
            " EXTEST_1 ",
        ] {
            assert!(is_probe_user(name), "{name}");
        }
        for name in [
            "jdoe",
            "CONTOSO\\jdoe",
            "",
            "-",
            "health",
            "myhealthmailbox",
            "extest",
        ] {
            assert!(!is_probe_user(name), "{name}");
        }
    }

    proptest::proptest! {
        /// The same answer as `normalize_user` followed by the prefix test, on names with
        /// domains, escapes, spaces and non-ASCII letters.
        #[test]
        fn as_normalize_user_then_prefix(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "HealthMailbox", "healthmailbox", "HEALTH", "Mailbox", "extest_", "ExTest",
                    "_", "\\", "%5C", "@", "contoso", " ", "+", "%", "-", "\u{130}", "\u{212a}",
                    "\u{e9}", "0f1e",
                ]),
                0..6,
            )
        ) {
            let name = parts.concat();
            let expected = normalize_user(&name)
                .is_some_and(|u| PROBE_PREFIXES.iter().any(|p| u.starts_with(p)));
            proptest::prop_assert_eq!(is_probe_user(&name), expected, "{}", name);
        }
    }
}
