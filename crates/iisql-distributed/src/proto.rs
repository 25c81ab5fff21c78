//! The wire form of iisql's plan nodes: protobuf messages (prost) for an IIS log table in a
//! logical plan and for its scan in a physical plan, and the prefix that tells them apart from
//! Ballista's own nodes.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion_proto::protobuf::{FileScanExecConf, PhysicalExprNode, Schema};
use iisql::IisW3cOptions;

/// The bytes every iisql node starts with. Ballista's and DataFusion's own extension nodes are
/// protobuf messages whose first byte is a field tag; none begins with these six bytes.
pub const MAGIC: &[u8] = b"iisql\0";

/// An IIS log table (a `ListingTable` reading an iisql format) in a logical plan.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogTableNode {
    /// The table's locations, as `ListingTableUrl` strings.
    #[prost(string, repeated, tag = "1")]
    pub paths: Vec<String>,
    /// The file name suffix files must have (empty: any).
    #[prost(string, tag = "2")]
    pub file_extension: String,
    /// The table schema: file columns, then partition columns.
    #[prost(message, optional, tag = "3")]
    pub schema: Option<Schema>,
    /// The names of the hive partition columns (`date=...` folders), at the schema's end.
    #[prost(string, repeated, tag = "4")]
    pub partition_cols: Vec<String>,
    /// How the files are read.
    #[prost(message, optional, tag = "5")]
    pub options: Option<OptionsNode>,
}

/// A scan of IIS log files (a `DataSourceExec` over an iisql `FileSource`) in a physical plan.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogScanNode {
    /// The files, their byte ranges, the schema and the projection.
    #[prost(message, optional, tag = "1")]
    pub conf: Option<FileScanExecConf>,
    /// How the files are read.
    #[prost(message, optional, tag = "2")]
    pub options: Option<OptionsNode>,
    /// The `WHERE` conditions pushed down into the scan, over the table schema.
    #[prost(message, optional, tag = "3")]
    pub predicate: Option<PhysicalExprNode>,
}

/// [`IisW3cOptions`] on the wire.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OptionsNode {
    /// The options with a SQL key, as [`IisW3cOptions::to_pairs`] gives them.
    #[prost(map = "string, string", tag = "1")]
    pub pairs: HashMap<String, String>,
    /// The zip members read (`IisW3cOptions::member_table`).
    #[prost(string, optional, tag = "2")]
    pub member_table: Option<String>,
    /// The checkpoint's byte ranges (`IisW3cOptions::ranges`); absent when files are read whole.
    #[prost(message, repeated, tag = "3")]
    pub ranges: Vec<RangeNode>,
    /// Whether `ranges` applies (a checkpointed run may have no file with new lines).
    #[prost(bool, tag = "4")]
    pub has_ranges: bool,
}

/// The lines of one file a checkpointed run reads: bytes `[start, end)`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RangeNode {
    /// The file's absolute path.
    #[prost(string, tag = "1")]
    pub path: String,
    /// The first byte read.
    #[prost(uint64, tag = "2")]
    pub start: u64,
    /// The byte after the last one read.
    #[prost(uint64, tag = "3")]
    pub end: u64,
}

impl From<&IisW3cOptions> for OptionsNode {
    fn from(o: &IisW3cOptions) -> Self {
        let mut ranges: Vec<RangeNode> = o
            .ranges
            .iter()
            .flat_map(|r| r.iter())
            .map(|(path, &(start, end))| RangeNode {
                path: path.clone(),
                start,
                end,
            })
            .collect();
        ranges.sort_by(|a, b| a.path.cmp(&b.path));
        Self {
            pairs: o.to_pairs().into_iter().collect(),
            member_table: o.member_table.clone(),
            ranges,
            has_ranges: o.ranges.is_some(),
        }
    }
}

impl TryFrom<&OptionsNode> for IisW3cOptions {
    type Error = DataFusionError;

    fn try_from(node: &OptionsNode) -> Result<Self> {
        let mut o = IisW3cOptions::default();
        o.apply(&node.pairs)?;
        o.member_table = node.member_table.clone();
        if node.has_ranges {
            let ranges = node
                .ranges
                .iter()
                .map(|r| (r.path.clone(), (r.start, r.end)))
                .collect();
            o.ranges = Some(Arc::new(ranges));
        }
        Ok(o)
    }
}

/// `message` prefixed with [`MAGIC`].
pub fn encode(message: &impl prost::Message, buf: &mut Vec<u8>) -> Result<()> {
    buf.extend_from_slice(MAGIC);
    message
        .encode(buf)
        .map_err(|e| DataFusionError::Internal(format!("cannot encode an iisql plan node: {e}")))
}

/// The message after [`MAGIC`], or `None` when `buf` is not an iisql node.
pub fn decode<M: prost::Message + Default>(buf: &[u8]) -> Result<Option<M>> {
    let Some(body) = buf.strip_prefix(MAGIC) else {
        return Ok(None);
    };
    M::decode(body)
        .map(Some)
        .map_err(|e| DataFusionError::Internal(format!("cannot decode an iisql plan node: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_survive_the_wire() {
        let mut o = IisW3cOptions::default()
            .with_format(iisql::iis_log::LogFormat::Httperr)
            .with_max_errors(9);
        o.member_table = Some("httperr".to_string());
        o.ranges = Some(Arc::new(HashMap::from([
            ("/logs/b.log".to_string(), (10, 20)),
            ("/logs/a.log".to_string(), (0, 5)),
        ])));
        let mut buf = Vec::new();
        encode(&OptionsNode::from(&o), &mut buf).unwrap();
        let node: OptionsNode = decode(&buf).unwrap().unwrap();
        let back = IisW3cOptions::try_from(&node).unwrap();
        assert_eq!(back.format, o.format);
        assert_eq!(back.max_errors, Some(9));
        assert_eq!(back.member_table.as_deref(), Some("httperr"));
        assert_eq!(back.ranges.as_deref(), o.ranges.as_deref());
        // Not an iisql node: left to the codec it wraps.
        assert!(decode::<OptionsNode>(b"\x0a\x02hi").unwrap().is_none());
    }

    #[test]
    fn no_ranges_and_empty_ranges_differ() {
        let whole = IisW3cOptions::default();
        let back = IisW3cOptions::try_from(&OptionsNode::from(&whole)).unwrap();
        assert!(back.ranges.is_none());
        let nothing_new = IisW3cOptions {
            ranges: Some(Arc::new(HashMap::new())),
            ..Default::default()
        };
        let back = IisW3cOptions::try_from(&OptionsNode::from(&nothing_new)).unwrap();
        assert_eq!(back.ranges.map(|r| r.len()), Some(0));
    }
}
