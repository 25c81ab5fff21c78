//! `eas_request(cs_uri_query)`: every field the `activesync` view reads of an ActiveSync query
//! string ([`RequestFields`]), parsed once, as a struct of text fields. The same values as
//! `eas_param` and `eas_log` give one at a time.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

use super::eas_query::RequestFields;

/// The function's name.
pub const NAME: &str = "eas_request";

/// The struct's fields: [`RequestFields::NAMES`], each text.
fn fields() -> Fields {
    RequestFields::NAMES
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, true))
        .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct EasRequest {
    signature: Signature,
}

/// The `eas_request` function.
pub fn udf() -> ScalarUDF {
    ScalarUDF::from(EasRequest {
        signature: crate::one_text_signature(),
    })
}

impl ScalarUDFImpl for EasRequest {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(queries) = arrays.first() else {
            return Err(DataFusionError::Plan(format!(
                "{NAME} takes a query string"
            )));
        };
        let mut builders: Vec<StringBuilder> = RequestFields::NAMES
            .iter()
            .map(|_| StringBuilder::with_capacity(queries.len(), queries.len() * 8))
            .collect();
        let mut add = |q: Option<&str>| {
            let f = q.map(RequestFields::of).unwrap_or_default();
            for (b, v) in builders.iter_mut().zip(f.values()) {
                b.append_option(v);
            }
        };
        crate::for_each_text(NAME, queries, &mut add)?;
        let columns: Vec<ArrayRef> = builders
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(
            fields(),
            columns,
            None,
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::eas_query::{log_value, param};
    use super::*;

    /// Each field is what `eas_param` / `eas_log` answer one at a time, on plain, base64,
    /// back-end (`Log=`) and odd queries.
    #[test]
    fn fields_are_the_one_at_a_time_answers() {
        let queries = [
            "Cmd=Sync&User=CONTOSO%5Cjdoe&DeviceId=ABC123&DeviceType=iPhone",
            "User=jdoe@contoso.com&DeviceId=X1&DeviceType=Android&Cmd=Ping&Log=V161_Sst4_LdapC0_Error:PingCollisionDetected_As:AllowedG_SC1:142_S:1_PrxFrom:10.0.0.1_PrxTo:mbx01",
            "jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l",
            "eQIJBBAAAAAAAAAAAAAAAAAAAAAABAAAAAAHaVBob25lAA==",
            "Cmd=Options&Log=Ver1:141_S:3",
            "Log=V14_S:2_S:5",
            "",
            "&&=&DeviceId=&User=%",
        ];
        for q in queries {
            let f = RequestFields::of(q);
            assert_eq!(f.user, param(q, "User"), "{q}");
            assert_eq!(f.device_id, param(q, "DeviceId"), "{q}");
            assert_eq!(f.device_type, param(q, "DeviceType"), "{q}");
            assert_eq!(f.cmd, param(q, "Cmd"), "{q}");
            assert_eq!(f.protocol_version, param(q, "ProtocolVersion"), "{q}");
            assert_eq!(
                f.eas_status,
                log_value(q, "SC1", 0).or_else(|| log_value(q, "S", 0)),
                "{q}"
            );
            assert_eq!(f.error, log_value(q, "Error", 0), "{q}");
            assert_eq!(f.access_state, log_value(q, "As", 0), "{q}");
            assert_eq!(f.proxy_from, log_value(q, "PrxFrom", 0), "{q}");
            assert_eq!(f.proxy_to, log_value(q, "PrxTo", 0), "{q}");
        }
        let f = RequestFields::of(queries[1]);
        assert_eq!(f.eas_status.as_deref(), Some("142"));
        assert_eq!(f.protocol_version.as_deref(), Some("16.1"));
        assert_eq!(f.proxy_to.as_deref(), Some("mbx01"));
    }

    proptest::proptest! {
        /// On query strings made of ActiveSync's names, `Log=` items (repeated, in any order,
        /// with escapes, `+` and non-ASCII text), parsing once answers what each field's own
        /// call does.
        #[test]
        fn parsing_once_answers_as_one_at_a_time(
            items in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "User", "user", "DeviceId", "DeviceType", "Cmd", "Log", "log", "x", "",
                    ]),
                    proptest::collection::vec(
                        proptest::sample::select(vec![
                            "SC1:142", "S:1", "S:3", "Error:PingCollisionDetected",
                            "Error:A%20b", "As:AllowedG", "PrxFrom:10.0.0.1", "PrxTo:mbx%3A1",
                            "V161", "Ver1:141", "Sst4", "TmRcv10:35:00.12", "", "a+b", "%",
                            "%C3%A9t%C3%A9", "%ZZ", "\u{e9}",
                        ]),
                        0..5,
                    ),
                ),
                0..6,
            )
        ) {
            let q = items
                .iter()
                .map(|(k, v)| format!("{k}={}", v.join("_")))
                .collect::<Vec<_>>()
                .join("&");
            let f = RequestFields::of(&q);
            proptest::prop_assert_eq!(f.user, param(&q, "User"));
            proptest::prop_assert_eq!(f.device_id, param(&q, "DeviceId"));
            proptest::prop_assert_eq!(f.cmd, param(&q, "Cmd"));
            proptest::prop_assert_eq!(f.protocol_version, param(&q, "ProtocolVersion"));
            proptest::prop_assert_eq!(
                f.eas_status,
                log_value(&q, "SC1", 0).or_else(|| log_value(&q, "S", 0))
            );
            proptest::prop_assert_eq!(f.error, log_value(&q, "Error", 0));
            proptest::prop_assert_eq!(f.access_state, log_value(&q, "As", 0));
            proptest::prop_assert_eq!(f.proxy_from, log_value(&q, "PrxFrom", 0));
            proptest::prop_assert_eq!(f.proxy_to, log_value(&q, "PrxTo", 0));
        }
    }
}
