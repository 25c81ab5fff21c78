//! Log Parser Studio query libraries: the XML file LPS exports
//! (`<ArrayOfLPQuery><LPQuery><QueryName/><QueryDescription/><QueryData/><LogType/>...`), read
//! into queries that [`crate::lp_dialect`] translates.

use datafusion::error::{DataFusionError, Result};

/// One query of a library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LpsQuery {
    /// Its name (`QueryName`).
    pub name: String,
    /// What it is for (`QueryDescription`).
    pub description: String,
    /// The Log Parser SQL (`QueryData`), usually `FROM '[LOGFILEPATH]'`.
    pub query: String,
    /// The log type LPS runs it on (`LogType`: `IISW3CLOG`, `HTTPERRLOG`, `EELLOG`...).
    pub log_type: String,
}

impl LpsQuery {
    /// The format of this query's logs, if iisql reads it: `IISW3CLOG`, `W3CLOG`,
    /// `HTTPERRLOG`, `IISLOG`, `NCSALOG` (and the names without `LOG`).
    pub fn input_format(&self) -> Option<iis_log::LogFormat> {
        let t = self.log_type.to_ascii_uppercase();
        let t = t.strip_suffix("LOG").unwrap_or(&t);
        match t {
            "" => Some(iis_log::LogFormat::IisW3c),
            other => other.parse().ok(),
        }
    }

    /// Whether iisql reads this query's logs.
    pub fn supported(&self) -> bool {
        self.input_format().is_some()
    }
}

/// Reads a library's XML; `file` names it in errors.
pub fn parse_library(file: &str, xml: &str) -> Result<Vec<LpsQuery>> {
    let doc = roxmltree::Document::parse(xml.trim_start_matches('\u{feff}')).map_err(|e| {
        DataFusionError::Plan(format!("{file}: not a Log Parser Studio library: {e}"))
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "ArrayOfLPQuery" {
        return Err(DataFusionError::Plan(format!(
            "{file}: not a Log Parser Studio library (its root is <{}>, not <ArrayOfLPQuery>)",
            root.tag_name().name()
        )));
    }
    let child = |n: roxmltree::Node<'_, '_>, name: &str| -> String {
        n.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .map(|c| c.text().unwrap_or_default().trim().to_string())
            .unwrap_or_default()
    };
    let out: Vec<LpsQuery> = root
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "LPQuery")
        .map(|n| LpsQuery {
            name: child(n, "QueryName"),
            description: child(n, "QueryDescription"),
            query: child(n, "QueryData"),
            log_type: child(n, "LogType"),
        })
        .collect();
    Ok(out)
}

/// The query called `name` (case-insensitive), or an error listing the names.
pub fn find<'a>(queries: &'a [LpsQuery], name: &str) -> Result<&'a LpsQuery> {
    queries
        .iter()
        .find(|q| q.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
            DataFusionError::Plan(format!(
                "no query `{name}` in the library (it has: {})",
                names.join("; ")
            ))
        })
}
